-- Reconciliation of fact_daily_balance with fact_invoices, per organization:
--   * the same organizations in both;
--   * the series starts on the organization's first invoice day (any status) and ends on the
--     as-of date (the latest invoice day in the warehouse), with no row after it;
--   * the balance on the as-of date equals the sum of its balance_effect_usd (to a cent: the fact
--     sums micro-USD rounded per invoice).
-- A series' first day is its row without previous_balance_usd; assert_daily_balance_rolls_forward
-- checks that only the first row lacks one and that the days in between are all there.
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

closing as (
    select organization_id, balance_usd
    from {{ ref('fact_daily_balance') }}
    where balance_date = (select as_of_date from as_of)
),

opening as (
    select organization_id, min(balance_date) as first_balance_date
    from {{ ref('fact_daily_balance') }}
    where previous_balance_usd is null
    group by organization_id
),

series as (
    select
        opening.organization_id,
        opening.first_balance_date,
        closing.balance_usd
    from opening
    left join closing
        on opening.organization_id = closing.organization_id
),

all_organizations as (
    select organization_id from series
    union
    select organization_id from invoice_totals
),

compared as (
    -- (not a full outer join: SQLite runs that as a nested loop over both sides)
    select
        all_organizations.organization_id,
        invoice_totals.first_invoice_date,
        series.first_balance_date,
        invoice_totals.balance_effect_usd,
        series.balance_usd
    from all_organizations
    left join series
        on all_organizations.organization_id = series.organization_id
    left join invoice_totals
        on all_organizations.organization_id = invoice_totals.organization_id
),

beyond_as_of as (
    select organization_id, count(*) as row_count
    from {{ ref('fact_daily_balance') }}
    where balance_date > (select as_of_date from as_of)
    group by organization_id
)

select
    organization_id,
    first_invoice_date,
    first_balance_date,
    balance_effect_usd,
    balance_usd,
    'series does not match the invoices' as problem
from compared
where
    first_balance_date is null
    or first_invoice_date is null
    or first_balance_date <> first_invoice_date
    or balance_usd is null
    or abs(balance_usd - balance_effect_usd) > 0.01

union all

select organization_id, null, null, null, null, 'rows after the as-of date'
from beyond_as_of
