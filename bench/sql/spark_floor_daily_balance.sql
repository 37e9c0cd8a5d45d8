-- The Spark floor's build: fact_daily_balance (docs/contract.md §2) as ONE statement on the raw
-- table, the same rule as floor_daily_balance.sql, with the dense calendar from sequence()/explode.
create table fact_daily_balance using parquet as
with
daily_changes as (
    select
        organization_id,
        substr(created_at, 1, 10) as balance_date,
        sum(
            case status
                when 'paid' then amount / fx_rate
                when 'refunded' then -amount / fx_rate
                else 0.0
            end
        ) as daily_change_usd
    from invoices
    group by organization_id, substr(created_at, 1, 10)
),
first_days as (
    select organization_id, min(balance_date) as first_date
    from daily_changes
    group by organization_id
),
as_of as (
    select max(balance_date) as as_of_date from daily_changes
),
dense as (
    select
        first_days.organization_id,
        cast(calendar_date as string) as balance_date
    from first_days
    cross join as_of
    lateral view explode(
        sequence(to_date(first_days.first_date), to_date(as_of.as_of_date), interval 1 day)
    ) calendar as calendar_date
)
select
    dense.organization_id,
    dense.balance_date,
    coalesce(daily_changes.daily_change_usd, 0.0) as daily_change_usd,
    sum(coalesce(daily_changes.daily_change_usd, 0.0)) over (
        partition by dense.organization_id order by dense.balance_date
        rows between unbounded preceding and current row
    ) as balance_usd,
    sum(coalesce(daily_changes.daily_change_usd, 0.0)) over (
        partition by dense.organization_id order by dense.balance_date
        rows between unbounded preceding and 1 preceding
    ) as previous_balance_usd
from dense
left join daily_changes
    on daily_changes.organization_id = dense.organization_id
    and daily_changes.balance_date = dense.balance_date;
