-- One row per organization in the export, 1:1 with the raw `organizations` table: renamed, typed
-- and cleaned only.
-- Materialized as an incremental table: a build reads only the raw rows (re)written by loads
-- newer than the last build (`_load_id`), and replaces them by key. Columns the loader already
-- typed pass through uncast; computed columns are cast explicitly.
{# On Spark (no Delta, hence no delete+insert by key): a table rebuilt by every build. #}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='delete+insert',
    unique_key='organization_id',
    post_hook=[
        "{{ create_index(this, ['organization_id'], unique=true) }}",
        "{{ create_index(this, ['_load_id']) }}",
    ],
) }}

with

source as (
    select * from {{ source('deel', 'organizations') }}
),

renamed as (
    select
        organization_id,
        cast({{ normalize_utc_timestamp('created_date') }} as {{ dbt.type_string() }}) as created_at,
        cast(
            {{ utc_date(normalize_utc_timestamp('created_date')) }} as {{ dbt.type_string() }}
        ) as created_date,
        first_payment_date,
        last_payment_date,
        cast(
            {{ nullif_hash_null('legal_entity_country_code') }} as {{ dbt.type_bigint() }}
        ) as legal_entity_country_code,
        count_total_contracts_active as active_contract_count,
        _load_id
    from source
    {{ rows_from_new_loads() }}
)

select * from renamed
