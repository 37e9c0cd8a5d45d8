{#-
  One row per organization: every organization of the export, plus every organization seen only
  in invoices (is_orphan), enriched with its invoice history and current balance.

  Incremental (delete+insert on organization_id). `_load_id` is the newest load among the
  organization's stg_organizations row and its fact_invoices rows, so the table's newest
  `_load_id` is the newest load the last build reflected (every load writes organizations or
  invoices). A run rebuilds, whole, each organization with a fact_invoices row or a
  stg_organizations row of a newer load (new invoices, status changes, an orphan's organization
  delivered, changed export attributes); the per-organization aggregate reads its invoices through
  the fact_invoices (organization_id, created_date) index. Sums are integer micro-USD, so a
  rebuilt row equals, bit for bit, the row of a full refresh.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='organization_id',
    on_schema_change='fail',
    post_hook=["{{ create_index(this, ['organization_id'], unique=true) }}"],
) }}

with

{% if is_incremental() %}

changed_organizations as (
    select organization_id
    from {{ ref('fact_invoices') }}
    where _load_id > {{ newest_load_built() }}
    union
    select organization_id
    from {{ ref('stg_organizations') }}
    where _load_id > {{ newest_load_built() }}
),

organizations as (
    select * from {{ ref('stg_organizations') }}
    where organization_id in (select organization_id from changed_organizations)
),

invoices as not materialized (
    -- only columns of index fact_invoices__by_organization, read in its order: the table rows
    -- are never read and the GROUP BY needs no sort
    select organization_id, created_date, status, amount_usd, balance_effect_usd, _load_id
    from {{ ref('fact_invoices') }}
    where organization_id in (select organization_id from changed_organizations)
),

{% else %}

organizations as (
    select * from {{ ref('stg_organizations') }}
),

invoices as not materialized (
    select organization_id, created_date, status, amount_usd, balance_effect_usd, _load_id
    from {{ ref('fact_invoices') }}
),

{% endif %}

invoice_summary as (
    select
        organization_id,
        min(created_date) as first_invoice_date,
        max(created_date) as last_invoice_date,
        count(*) as invoice_count,
        {% for status in var('invoice_statuses') -%}
        sum(case when status = '{{ status }}' then 1 else 0 end) as {{ status }}_invoice_count,
        {% endfor -%}
        -- integer micro-USD: exact and independent of row order (full refresh = incremental)
        sum(case when status = 'paid' then {{ usd_to_micros('amount_usd') }} else 0 end)
            as lifetime_paid_micros,
        sum(case when status = 'refunded' then {{ usd_to_micros('amount_usd') }} else 0 end)
            as lifetime_refunded_micros,
        sum({{ usd_to_micros('balance_effect_usd') }}) as balance_micros,
        max(_load_id) as invoice_load_id
    from invoices
    group by organization_id
),

all_organizations as (
    select organization_id from organizations
    union
    select organization_id from invoice_summary
),

final as (
    select
        cast(all_organizations.organization_id as {{ dbt.type_bigint() }}) as organization_id,
        cast(organizations.organization_id is null as {{ dbt.type_boolean() }}) as is_orphan,
        cast(invoice_summary.organization_id is not null as {{ dbt.type_boolean() }}) as has_invoices,
        organizations.created_at,
        organizations.created_date,
        organizations.legal_entity_country_code,
        organizations.active_contract_count,
        organizations.first_payment_date,
        organizations.last_payment_date,
        cast(invoice_summary.first_invoice_date as {{ dbt.type_string() }}) as first_invoice_date,
        cast(invoice_summary.last_invoice_date as {{ dbt.type_string() }}) as last_invoice_date,
        cast(coalesce(invoice_summary.invoice_count, 0) as {{ dbt.type_bigint() }}) as invoice_count,
        {% for status in var('invoice_statuses') -%}
        cast(
            coalesce(invoice_summary.{{ status }}_invoice_count, 0) as {{ dbt.type_bigint() }}
        ) as {{ status }}_invoice_count,
        {% endfor -%}
        cast(
            {{ micros_to_usd('coalesce(invoice_summary.lifetime_paid_micros, 0)') }}
            as {{ dbt.type_float() }}
        ) as lifetime_paid_usd,
        cast(
            {{ micros_to_usd('coalesce(invoice_summary.lifetime_refunded_micros, 0)') }}
            as {{ dbt.type_float() }}
        ) as lifetime_refunded_usd,
        cast(
            {{ micros_to_usd('coalesce(invoice_summary.balance_micros, 0)') }} as {{ dbt.type_float() }}
        ) as current_balance_usd,
        -- bookkeeping for incremental builds and their tests
        cast(
            case
                when organizations._load_id is null then invoice_summary.invoice_load_id
                when invoice_summary.invoice_load_id is null then organizations._load_id
                when organizations._load_id > invoice_summary.invoice_load_id
                    then organizations._load_id
                else invoice_summary.invoice_load_id
            end as {{ dbt.type_bigint() }}
        ) as _load_id
    from all_organizations
    left join organizations
        on all_organizations.organization_id = organizations.organization_id
    left join invoice_summary
        on all_organizations.organization_id = invoice_summary.organization_id
)

select * from final
