{#-
  One row per organization per calendar day, from the organization's first invoice day (any
  status) to the as-of date (the latest invoice day in the warehouse); days without invoices carry
  the balance forward. CONTRACT §2.

  Incremental (delete+insert on (balance_date, organization_id)). Each run rebuilds, per
  organization, a tail of its series from a restart day to the as-of date:
    * organizations with an invoice (re)written by a load newer than the last build (late
      invoices, status changes, new organizations): from the earliest day such an invoice falls on;
    * every other organization already in the table: from the day after the previous as-of date
      (carry-forward rows; nothing when the as-of date has not moved).
  A tail starts from the stored balance of the day before it (the "opening" balance) or, when
  there is none, from the organization's first invoice day. Money is summed in integer micro-USD,
  so a tail computed from an opening balance equals, bit for bit, the same rows of a full refresh.
  Assumes an invoice never changes organization_id or created_at (a later delivery changes its
  status or amounts); if it does, the reconciliation tests fail: run `balancewatch build
  --full-refresh`. Changing seeds/balance_rules.csv also needs a full refresh.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['organization_id', 'balance_date'],
    on_schema_change='fail',
    post_hook=[
        "{{ create_index(this, ['organization_id', 'balance_date'], unique=true) }}",
    ],
) }}

with recursive

invoices as (
    select organization_id, created_date, balance_effect_usd, _load_id
    from {{ ref('fact_invoices') }}
),

as_of as (
    select max(created_date) as as_of_date from invoices
),

{% if is_incremental() %}

previous_as_of as (
    select max(balance_date) as as_of_date from {{ this }}
),

previous_closing as (
    -- every series in the table reaches the previous as-of date
    select organization_id, _load_id
    from {{ this }}
    where balance_date = (select as_of_date from previous_as_of)
),

changed_organizations as (
    -- invoices (re)written by a load the last build did not see
    select organization_id, min(created_date) as changed_from_date
    from invoices
    where _load_id > (select coalesce(max(_load_id), -1) from previous_closing)
    group by organization_id
),

restart_candidates as (
    select
        organization_id,
        {{ add_days('(select as_of_date from previous_as_of)', 1) }} as restart_date
    from previous_closing
    union all
    select organization_id, changed_from_date as restart_date
    from changed_organizations
),

restart_days as (
    select organization_id, min(restart_date) as restart_date
    from restart_candidates
    group by organization_id
),

restarts as (
    select
        restart_days.organization_id,
        restart_days.restart_date,
        opening.balance_usd as opening_balance_usd,
        opening._load_id as opening_load_id
    from restart_days
    left join {{ this }} as opening
        on opening.balance_date = {{ add_days('restart_days.restart_date', -1) }}
        and opening.organization_id = restart_days.organization_id
),

{% else %}

restarts as (
    select
        organization_id,
        min(created_date) as restart_date,
        cast(null as {{ dbt.type_float() }}) as opening_balance_usd,
        cast(null as {{ dbt.type_bigint() }}) as opening_load_id
    from invoices
    group by organization_id
),

{% endif %}

daily_changes as (
    -- net move per organization and day, from each restart day on, in integer micro-USD
    select
        invoices.organization_id,
        invoices.created_date as balance_date,
        sum({{ usd_to_micros('invoices.balance_effect_usd') }}) as daily_change_micros,
        max(invoices._load_id) as daily_load_id
    from invoices
    inner join restarts
        on invoices.organization_id = restarts.organization_id
        and invoices.created_date >= restarts.restart_date
    group by invoices.organization_id, invoices.created_date
),

opening_days as (
    -- a series that carries an opening balance starts on its restart day, invoices or not
    select
        organization_id,
        restart_date as balance_date,
        0 as daily_change_micros,
        cast(null as {{ dbt.type_bigint() }}) as daily_load_id
    from restarts
    where opening_balance_usd is not null
        and restart_date <= (select as_of_date from as_of)
),

change_days as (
    select
        organization_id,
        balance_date,
        sum(daily_change_micros) as daily_change_micros,
        max(daily_load_id) as daily_load_id
    from (
        select * from daily_changes
        union all
        select * from opening_days
    ) as days
    group by organization_id, balance_date
),

running as (
    -- the balance after each change day; it holds until the next change day
    select
        change_days.organization_id,
        change_days.balance_date,
        change_days.daily_change_micros,
        coalesce({{ usd_to_micros('restarts.opening_balance_usd') }}, 0)
        + sum(change_days.daily_change_micros) over organization_days as balance_micros,
        restarts.opening_balance_usd is null
        and row_number() over organization_days = 1 as is_first_day,
        case
            when restarts.opening_load_id is null
                or max(change_days.daily_load_id) over organization_days > restarts.opening_load_id
                then max(change_days.daily_load_id) over organization_days
            else restarts.opening_load_id
        end as load_id,
        coalesce(
            {{ add_days('lead(change_days.balance_date) over organization_days', -1) }},
            (select as_of_date from as_of)
        ) as held_until_date
    from change_days
    inner join restarts
        on change_days.organization_id = restarts.organization_id
    window organization_days as (
        partition by change_days.organization_id
        order by change_days.balance_date
        rows between unbounded preceding and current row
    )
),

every_day (
    organization_id, balance_date, held_until_date, daily_change_micros, balance_micros,
    previous_balance_micros, load_id
) as (
    -- each change day, then one carry-forward row per day until the next change day (dense)
    select
        organization_id,
        cast(balance_date as {{ dbt.type_string() }}),
        cast(held_until_date as {{ dbt.type_string() }}),
        daily_change_micros,
        balance_micros,
        case when not is_first_day then balance_micros - daily_change_micros end,
        load_id
    from running
    union all
    select
        organization_id,
        cast({{ add_days('balance_date', 1) }} as {{ dbt.type_string() }}),
        held_until_date,
        0,
        balance_micros,
        balance_micros,
        load_id
    from every_day
    where balance_date < held_until_date
),

final as (
    select
        cast(organization_id as {{ dbt.type_bigint() }}) as organization_id,
        cast(balance_date as {{ dbt.type_string() }}) as balance_date,
        cast({{ micros_to_usd('daily_change_micros') }} as {{ dbt.type_float() }})
            as daily_change_usd,
        cast({{ micros_to_usd('balance_micros') }} as {{ dbt.type_float() }}) as balance_usd,
        -- the balance of the calendar day before; NULL on the organization's first day
        cast({{ micros_to_usd('previous_balance_micros') }} as {{ dbt.type_float() }})
            as previous_balance_usd,
        cast(load_id as {{ dbt.type_bigint() }}) as _load_id
    from every_day
)

select * from final
