-- The daily balance floor: fact_daily_balance (docs/contract.md §2) as ONE statement on the raw
-- table.
-- Dense per organization from its first invoice day (any status) to the as-of date (the latest
-- invoice day), balance carried forward; paid = +1, refunded = -1, any other status = 0;
-- USD = amount / fx_rate. previous_balance_usd is the window sum up to the day before (NULL on
-- the first day, whose frame is empty).
pragma cache_size = -262144;
create table fact_daily_balance as
with recursive
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
bounds as (
    select
        (select min(first_date) from first_days) as first_date,
        (select max(balance_date) from daily_changes) as as_of_date
),
calendar(calendar_date) as (
    select first_date from bounds
    union all
    select date(calendar_date, '+1 day')
    from calendar
    where calendar_date < (select as_of_date from bounds)
),
dense as (
    select
        first_days.organization_id,
        calendar.calendar_date as balance_date,
        coalesce(daily_changes.daily_change_usd, 0.0) as daily_change_usd
    from first_days
    inner join calendar
        on calendar.calendar_date >= first_days.first_date
    left join daily_changes
        on daily_changes.organization_id = first_days.organization_id
        and daily_changes.balance_date = calendar.calendar_date
)
select
    organization_id,
    balance_date,
    daily_change_usd,
    sum(daily_change_usd) over (
        partition by organization_id order by balance_date
        rows between unbounded preceding and current row
    ) as balance_usd,
    sum(daily_change_usd) over (
        partition by organization_id order by balance_date
        rows between unbounded preceding and 1 preceding
    ) as previous_balance_usd
from dense;
