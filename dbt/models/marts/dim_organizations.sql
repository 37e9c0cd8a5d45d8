-- One row per organization: every organization of the export, plus every organization seen only
-- in invoices (is_orphan), enriched with its invoice history and current balance.
with

organizations as (
    select * from {{ ref('stg_organizations') }}
),

invoices as (
    select * from {{ ref('fact_invoices') }}
),

invoice_summary as (
    select
        organization_id,
        min(created_date) as first_invoice_date,
        max(created_date) as last_invoice_date,
        count(*) as invoice_count,
        {% for status in var('invoice_statuses') -%}
        sum(case when status = '{{ status }}' then 1 else 0 end) as {{ status }}_invoice_count,
        {% endfor -%}
        sum(case when status = 'paid' then amount_usd else 0 end) as lifetime_paid_usd,
        sum(case when status = 'refunded' then amount_usd else 0 end) as lifetime_refunded_usd,
        sum({{ usd_to_micros('balance_effect_usd') }}) as balance_micros
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
            coalesce(invoice_summary.lifetime_paid_usd, 0) as {{ dbt.type_float() }}
        ) as lifetime_paid_usd,
        cast(
            coalesce(invoice_summary.lifetime_refunded_usd, 0) as {{ dbt.type_float() }}
        ) as lifetime_refunded_usd,
        cast(
            {{ micros_to_usd('coalesce(invoice_summary.balance_micros, 0)') }} as {{ dbt.type_float() }}
        ) as current_balance_usd
    from all_organizations
    left join organizations
        on all_organizations.organization_id = organizations.organization_id
    left join invoice_summary
        on all_organizations.organization_id = invoice_summary.organization_id
)

select * from final
