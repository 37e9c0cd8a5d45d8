-- Roll-forward identity of fact_daily_balance, checked against the definition (LAG over days):
--   * series are dense: each row's previous row is the calendar day before;
--   * previous_balance_usd is the balance of that day, NULL only on the first day;
--   * balance_usd = previous_balance_usd + daily_change_usd (first day: = daily_change_usd).
-- Returns the offending rows.
with

balances as (
    select
        *,
        lag(balance_date) over organization_days as lag_balance_date,
        lag(balance_usd) over organization_days as lag_balance_usd
    from {{ ref('fact_daily_balance') }}
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
        (lag_balance_date is not null and lag_balance_date <> {{ add_days('balance_date', -1) }})
        or (lag_balance_date is null and previous_balance_usd is not null)
        or (lag_balance_date is not null and previous_balance_usd is null)
        or abs(previous_balance_usd - lag_balance_usd) > 0.000001
        or abs(balance_usd - (coalesce(previous_balance_usd, 0) + daily_change_usd)) > 0.000001
)

select * from violations
