{#
  fact_daily_balance's dense daily series, the part of it each engine writes its own way.

  with_recursive(): the keyword opening the model's CTEs (`with recursive` where every_day is a
  recursive CTE; plain `with` on Spark, which generates the days with sequence()).

  every_day_cte(running): the CTE `every_day` (organization_id, balance_date, held_until_date,
  daily_change_micros, balance_micros, previous_balance_micros, load_id): each change day of
  `running` (columns organization_id, balance_date, held_until_date, daily_change_micros,
  balance_micros, is_first_day, load_id), then one carry-forward row per day up to its
  held_until_date (no change, same balance, previous = balance). Both engines give the same rows.

  restart_days(candidates): per organization, the day its rebuilt tail starts (incremental runs),
  from `candidates` (organization_id, restart_date). Per organization its earliest candidate; on
  Spark, whose incremental strategy overwrites whole balance_month partitions, the first day of
  the month of the earliest candidate of all: every organization is rebuilt from that day on
  (from its own first day, if later: it has no stored row before it), from the stored balances
  of the day before, so each overwritten month comes out complete. (Starting earlier than a
  candidate is always correct: the stored rows before a candidate are final.)

  partition_column(balance_date): the model's partition column, after its last column: nothing
  where the table is not partitioned; on Spark `balance_month`, 'YYYY-MM' of balance_date (one
  partition per month: per day, ~1,800 partitions over the export's five years made the build
  7x slower and every full scan 10x slower, measured on 765k rows).
#}

{% macro with_recursive() -%}
    {{ return(adapter.dispatch('with_recursive', 'balancewatch')()) }}
{%- endmacro %}

{% macro default__with_recursive() -%}
    with recursive
{%- endmacro %}

{% macro spark__with_recursive() -%}
    with
{%- endmacro %}


{% macro every_day_cte(running) -%}
    {{ return(adapter.dispatch('every_day_cte', 'balancewatch')(running)) }}
{%- endmacro %}

{% macro default__every_day_cte(running) -%}
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
    from {{ running }}
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
)
{%- endmacro %}

{% macro spark__every_day_cte(running) -%}
every_day as (
    -- each change day and the days it holds until the next change day: one row per day of
    -- sequence(balance_date, held_until_date); only the first of them is the change day
    select
        organization_id,
        cast(day as string) as balance_date,
        held_until_date,
        case when day = change_date then daily_change_micros else 0 end as daily_change_micros,
        balance_micros,
        case
            when day <> change_date then balance_micros
            when not is_first_day then balance_micros - daily_change_micros
        end as previous_balance_micros,
        load_id
    from (
        select
            organization_id,
            cast(balance_date as date) as change_date,
            cast(held_until_date as string) as held_until_date,
            daily_change_micros,
            balance_micros,
            is_first_day,
            load_id,
            explode(sequence(cast(balance_date as date), cast(held_until_date as date))) as day
        from {{ running }}
    ) as days
)
{%- endmacro %}


{% macro restart_days(candidates) -%}
    {{ return(adapter.dispatch('restart_days', 'balancewatch')(candidates)) }}
{%- endmacro %}

{% macro default__restart_days(candidates) -%}
    select organization_id, min(restart_date) as restart_date
    from {{ candidates }}
    group by organization_id
{%- endmacro %}

{% macro spark__restart_days(candidates) -%}
    select
        organization_id,
        (select concat(substr(min(restart_date), 1, 7), '-01') from {{ candidates }})
            as restart_date
    from {{ candidates }}
    group by organization_id
{%- endmacro %}


{% macro partition_column(balance_date) -%}
    {{ return(adapter.dispatch('partition_column', 'balancewatch')(balance_date)) }}
{%- endmacro %}

{% macro default__partition_column(balance_date) -%}
{%- endmacro %}

{% macro spark__partition_column(balance_date) -%}
,
        cast(substr({{ balance_date }}, 1, 7) as string) as balance_month
{%- endmacro %}
