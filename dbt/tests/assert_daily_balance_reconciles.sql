-- Reconciliation of fact_daily_balance with fact_invoices, per organization:
--   * the same organizations in both;
--   * the series starts on the organization's first invoice day (any status) and ends on the
--     as-of date (the latest invoice day in the warehouse), with no row after it;
--   * the balance on the as-of date equals the sum of its balance_effect_usd (to a cent: the fact
--     sums micro-USD rounded per invoice).
-- A series' first day is its row without previous_balance_usd; the monitor's fact_daily_balance
-- suite checks that only the first row lacks one and that the days in between are all there.
-- On an incremental run (macros/test_scope.sql) it checks the organizations whose rows the run
-- rebuilt with a change: those with invoices of newer loads, and those with a rebuilt row that
-- moves the balance or starts a series; the rows of every other organization are carried forward
-- (balance unchanged, checked by the monitor's roll-forward check). Returns the offending
-- organizations.
{%- set scope = test_scope() %}
with

checked as (
    select organization_id, balance_date, daily_change_usd, balance_usd, previous_balance_usd
    from {{ rebuilt_rows(ref('fact_daily_balance'), 'checked_rows') }}
),

{% if scope is not none %}
checked_organizations as (
    select organization_id
    from {{ ref('fact_invoices') }}
    where _load_id > {{ scope['since_load_id'] | int }}
    union
    select organization_id
    from checked
    where daily_change_usd <> 0 or previous_balance_usd is null
),

invoices as {{ cte_hint('not materialized') }} (
    select organization_id, created_date, balance_effect_usd
    from {{ ref('fact_invoices') }}
    where organization_id in (select organization_id from checked_organizations)
),

as_of as (
    -- invoices of older loads fall on or before the last build's as-of date (created_at never
    -- changes: see fact_daily_balance)
    select max(day) as as_of_date
    from (
        select max(created_date) as day
        from {{ ref('fact_invoices') }}
        where _load_id > {{ scope['since_load_id'] | int }}
        union all
        select '{{ scope["as_of_date"] }}' as day
    ) as days
),
{% else %}
invoices as {{ cte_hint('not materialized') }} (
    select organization_id, created_date, balance_effect_usd
    from {{ ref('fact_invoices') }}
),

as_of as (
    select max(created_date) as as_of_date from {{ ref('fact_invoices') }}
),
{% endif %}

invoice_totals as (
    select
        organization_id,
        min(created_date) as first_invoice_date,
        sum(balance_effect_usd) as balance_effect_usd
    from invoices
    group by organization_id
),

closing as (
    select organization_id, balance_usd
    from {{ ref('fact_daily_balance') }}
    where balance_date = (select as_of_date from as_of)
),

opening as (
    -- first days among the checked rows, and the stored row of each first invoice day
    select organization_id, min(balance_date) as first_balance_date
    from (
        select organization_id, balance_date
        from checked
        where previous_balance_usd is null
        union all
        select stored.organization_id, stored.balance_date
        from invoice_totals
        inner join {{ ref('fact_daily_balance') }} as stored
            on stored.balance_date = invoice_totals.first_invoice_date
            and stored.organization_id = invoice_totals.organization_id
        where stored.previous_balance_usd is null
    ) as first_days
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
