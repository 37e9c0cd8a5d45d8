-- One row per organization in the export, 1:1 with the raw `organizations` table: renamed, typed
-- and cleaned only. Columns the loader already typed pass through uncast (a cast on the key would
-- hide the raw table's index from joins through this view); computed columns are cast.
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
)

select * from renamed
