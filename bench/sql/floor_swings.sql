-- The swing check floor (docs/contract.md §2) as ONE statement over the whole fact (what a first
-- monitor run evaluates): flagged days where the previous balance is non-NULL, non-zero and the
-- move is strictly greater than 50 % of it. Returns the count and the 100 largest relative swings.
pragma cache_size = -262144;
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
