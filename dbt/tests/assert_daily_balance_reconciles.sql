-- Reconciliation of fact_daily_balance with fact_invoices, per organization:
--   * the same organizations in both;
--   * the series starts on the organization's first invoice day (any status) and ends on the
--     as-of date (the latest invoice day in the warehouse);
--   * its last balance equals the sum of its balance_effect_usd (to a cent: the fact sums
--     micro-USD rounded per invoice).
-- Returns the offending organizations.
with

invoice_totals as (
    select
        organization_id,
        min(created_date) as first_invoice_date,
        sum(balance_effect_usd) as balance_effect_usd
    from {{ ref('fact_invoices') }}
    group by organization_id
),

as_of as (
    select max(created_date) as as_of_date from {{ ref('fact_invoices') }}
),

series as (
    select
        organization_id,
        min(balance_date) as first_balance_date,
        max(balance_date) as last_balance_date
    from {{ ref('fact_daily_balance') }}
    group by organization_id
),

closing as (
    select series.*, balances.balance_usd
    from series
    inner join {{ ref('fact_daily_balance') }} as balances
        on balances.organization_id = series.organization_id
        and balances.balance_date = series.last_balance_date
),

compared as (
    select
        coalesce(closing.organization_id, invoice_totals.organization_id) as organization_id,
        invoice_totals.first_invoice_date,
        closing.first_balance_date,
        closing.last_balance_date,
        invoice_totals.balance_effect_usd,
        closing.balance_usd
    from closing
    full outer join invoice_totals
        on closing.organization_id = invoice_totals.organization_id
)

select *
from compared
where
    first_balance_date is null
    or first_invoice_date is null
    or first_balance_date <> first_invoice_date
    or last_balance_date <> (select as_of_date from as_of)
    or abs(balance_usd - balance_effect_usd) > 0.01
