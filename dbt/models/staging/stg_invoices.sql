-- One row per invoice, 1:1 with the raw `invoices` table: renamed, typed and cleaned only.
-- Columns the loader already typed pass through uncast: a cast on a key would hide the raw
-- table's index from every join through this view. Computed columns are cast explicitly.
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
        -- FX rates are units of the currency per 1 USD: divide. A rate <= 0 is invalid -> NULL.
        cast(
            case when fx_rate > 0 then amount / fx_rate end as {{ dbt.type_float() }}
        ) as amount_usd,

        payment_currency,
        payment_method,
        payment_amount,
        fx_rate_payment,
        cast(
            case when fx_rate_payment > 0 then payment_amount / fx_rate_payment end
            as {{ dbt.type_float() }}
        ) as payment_amount_usd,

        cast({{ normalize_utc_timestamp('created_at') }} as {{ dbt.type_string() }}) as created_at,
        cast(
            {{ utc_date(normalize_utc_timestamp('created_at')) }} as {{ dbt.type_string() }}
        ) as created_date,

        _load_id
    from source
)

select * from renamed
