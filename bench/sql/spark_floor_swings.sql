-- The Spark floor's swing check: floor_swings.sql (the same statement) run by Spark.
with swings as (
    select
        organization_id,
        balance_date,
        previous_balance_usd,
        balance_usd,
        abs(balance_usd - previous_balance_usd) / abs(previous_balance_usd) as relative_change
    from fact_daily_balance
    where previous_balance_usd is not null
        and previous_balance_usd <> 0
        and abs(balance_usd - previous_balance_usd) > 0.5 * abs(previous_balance_usd)
)
select count(*) over () as swings, organization_id, balance_date, previous_balance_usd,
    balance_usd, relative_change
from swings
order by relative_change desc
limit 100;
