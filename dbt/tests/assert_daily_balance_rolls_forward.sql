-- Roll-forward identity of fact_daily_balance, checked against the definition (LAG over days):
--   * series are dense: each row's previous row is the calendar day before;
--   * previous_balance_usd is the balance of that day, NULL only on the first day;
--   * balance_usd = previous_balance_usd + daily_change_usd (first day: = daily_change_usd).
-- Checks the rows the run rebuilt (every row on a full build; macros/test_scope.sql); the stored
-- day before each organization's first checked row opens its window (LAG sees it; not checked).
-- Returns the offending rows.
with

checked as (
    select organization_id, balance_date, daily_change_usd, balance_usd, previous_balance_usd
    from {{ rebuilt_rows(ref('fact_daily_balance'), 'checked_rows') }}
),

{% if rebuilt_rows_predicate(ref('fact_daily_balance')) is not none %}
window_openings as (
    select
        stored.organization_id,
        stored.balance_date,
        stored.daily_change_usd,
        stored.balance_usd,
        stored.previous_balance_usd
    from (
        select organization_id, min(balance_date) as first_checked_date
        from checked
        group by organization_id
    ) as firsts
    inner join {{ ref('fact_daily_balance') }} as stored
        on stored.balance_date = {{ add_days('firsts.first_checked_date', -1) }}
        and stored.organization_id = firsts.organization_id
),
{% else %}
window_openings as (
    select * from checked where 1 = 0
),
{% endif %}

balances as (
    select
        *,
        lag(balance_date) over organization_days as lag_balance_date,
        lag(balance_usd) over organization_days as lag_balance_usd
    from (
        select checked.*, 1 as is_checked from checked
        union all
        select window_openings.*, 0 as is_checked from window_openings
    ) as rows_in_window
    window organization_days as (partition by organization_id order by balance_date)
),

violations as (
    select
        organization_id,
        balance_date,
        previous_balance_usd,
        daily_change_usd,
        balance_usd,
        lag_balance_date,
        lag_balance_usd
    from balances
    where
        is_checked = 1
        and (
            (lag_balance_date is not null and lag_balance_date <> {{ add_days('balance_date', -1) }})
            or (lag_balance_date is null and previous_balance_usd is not null)
            or (lag_balance_date is not null and previous_balance_usd is null)
            or abs(previous_balance_usd - lag_balance_usd) > 0.000001
            or abs(balance_usd - (coalesce(previous_balance_usd, 0) + daily_change_usd)) > 0.000001
        )
)

select * from violations
