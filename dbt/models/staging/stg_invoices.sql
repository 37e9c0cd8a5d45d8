-- One row per invoice, 1:1 with the raw `invoices` table: renamed, typed and cleaned only.
-- Materialized as an incremental table: a build reads only the raw rows (re)written by loads
-- newer than the last build (`_load_id`), and replaces them by key. Columns the loader already
-- typed pass through uncast; computed columns are cast explicitly. The (created_date, currency,
-- fx_rate) index lets the FX-rate check read its trailing window, not the whole table.
{# On Spark (no Delta, hence no delete+insert by key): a table rebuilt by every build. #}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='delete+insert',
    unique_key='invoice_id',
    on_schema_change='fail',
    post_hook=[
        "{{ create_index(this, ['invoice_id'], unique=true) }}",
        "{{ create_index(this, ['_load_id']) }}",
        "{{ create_index(this, ['created_date', 'currency', 'fx_rate']) }}",
    ],
) }}

with

source as (
    select * from {{ source('deel', 'invoices') }}
),

renamed as (
    select
        invoice_id,
        cast({{ nullif_hash_null('parent_invoice_id') }} as {{ dbt.type_bigint() }}) as parent_invoice_id,
        cast({{ nullif_hash_null('transaction_id') }} as {{ dbt.type_bigint() }}) as transaction_id,
        organization_id,
        type as invoice_type,
        status,

        currency,
        amount,
        fx_rate,
        {{ to_usd('amount', 'fx_rate') }} as amount_usd,

        payment_currency,
        payment_method,
        payment_amount,
        fx_rate_payment,
        {{ to_usd('payment_amount', 'fx_rate_payment') }} as payment_amount_usd,

        cast({{ normalize_utc_timestamp('created_at') }} as {{ dbt.type_string() }}) as created_at,
        cast(
            {{ utc_date(normalize_utc_timestamp('created_at')) }} as {{ dbt.type_string() }}
        ) as created_date,

        _load_id,

        -- the version a later load replaced, as the loader kept it (NULL while the row was never
        -- replaced), cleaned like the columns above; dim_organizations subtracts its contribution
        _previous_organization_id,
        _previous_status,
        {{ to_usd('_previous_amount', '_previous_fx_rate') }} as _previous_amount_usd,
        cast(
            {{ utc_date(normalize_utc_timestamp('_previous_created_at')) }} as {{ dbt.type_string() }}
        ) as _previous_created_date,
        _previous_load_id
    from source
    {{ rows_from_new_loads() }}
)

select * from renamed
