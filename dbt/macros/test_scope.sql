{#
  Which rows the dbt tests read. On a full or cold build: every row. On an incremental run of
  `balancewatch build`: the rows the run (re)built since the last *successful* whole-project build,
  whose newest load N (load_log) and as-of date D balancewatch/build.py records in table build_log
  (a failed build records nothing, so its rows are tested again by the next run). The build passes
  var('scoped_tests') = true, the same on every run so that dbt's partial parse stays valid, and
  the tests read N and D from build_log when they run. Without the var (a --select build, dbt run
  by hand), on a --full-refresh, or before a first recorded build, tests read whole tables.

  Rows (re)built since that build, per model:
    * stg_invoices, stg_organizations, dim_organizations: `_load_id > N` (their `_load_id` is the
      newest load behind the row; an organization an invoice moved away from is rebuilt with
      its remaining rows' older `_load_id`, as a full refresh gives, and is not re-tested);
    * fact_invoices: `_load_id > N`. Orphans restated as non-orphans keep their invoice's older
      `_load_id` and are not re-tested: a restatement changes only is_orphan (true -> false, from a
      join, never NULL); every other column was tested when its invoice load was built, and their
      organizations' dim_organizations rows (newer `_load_id`) are tested. Testing them would
      mean reading the invoices of every re-delivered organization (thousands a day at scale);
    * fact_daily_balance: days after D (new days, carried forward), plus the restated tails of
      organizations with invoices of newer loads (their rows carry `_load_id > N`); each side is
      a range of an index (balance_date leads the unique key; `_load_id` has its own).
  Every other row is unchanged since a build whose tests passed. Unique keys are also enforced by
  unique indexes, so a test over the rebuilt rows cannot miss a clash with an older row.
#}

{% macro test_scope() -%}
    {{ return(adapter.dispatch('test_scope', 'balancewatch')()) }}
{%- endmacro %}

{#
  Spark: every row, always. There the staging models, fact_invoices and dim_organizations are
  rebuilt whole by every build, fact_daily_balance rewrites whole balance_month partitions, and no
  unique index guards the keys of rows a scoped test would skip.
#}
{% macro spark__test_scope() -%}
    {{ return(none) }}
{%- endmacro %}

{% macro default__test_scope() -%}
    {%- if not execute or flags.FULL_REFRESH or not var('scoped_tests', false) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set log = adapter.get_relation(
        database=target.database, schema=target.schema, identifier='build_log') -%}
    {%- if log is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set last = run_query(
        'select load_id, as_of_date from ' ~ log ~ ' order by load_id desc, built_at desc limit 1'
    ) -%}
    {%- if last.rows | length == 0 or last.rows[0][1] is none -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return({'since_load_id': last.rows[0][0], 'as_of_date': last.rows[0][1]}) }}
{%- endmacro %}

{# The predicate selecting the rebuilt rows of `relation`; none: test every row. #}
{% macro rebuilt_rows_predicate(relation) -%}
    {%- set scope = test_scope() -%}
    {%- if scope is none or relation.identifier is not defined -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set since = scope['since_load_id'] | int -%}
    {%- set name = relation.identifier -%}
    {%- if name in ['stg_invoices', 'stg_organizations', 'dim_organizations', 'fact_invoices'] -%}
        {{ return('_load_id > ' ~ since) }}
    {%- elif name == 'fact_daily_balance' -%}
        {#- two index ranges: balance_date (unique index) and _load_id (its own index) -#}
        {{ return(
            "(balance_date > '" ~ scope['as_of_date'] ~ "' or _load_id > " ~ since ~ ")"
        ) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{# `relation`, or a subquery of its rebuilt rows (for singular tests). #}
{% macro rebuilt_rows(relation, alias) -%}
    {%- set predicate = rebuilt_rows_predicate(relation) -%}
    {%- if predicate is none -%}
        {{ relation }} as {{ alias }}
    {%- else -%}
        (select * from {{ relation }} where {{ predicate }}{{ scope_fence() }}) as {{ alias }}
    {%- endif -%}
{%- endmacro %}

{#
  Override of dbt's default__get_where_subquery: every generic test reads its model through it,
  so it adds the rebuilt-rows predicate to the test's own `where` config, if any.
#}
{% macro default__get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set predicate = rebuilt_rows_predicate(relation) -%}
    {%- if predicate is not none -%}
        {%- do conditions.append(predicate) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ conditions | join(' and ') }}
             {%- if predicate is not none %}{{ scope_fence() }}{% endif %}) dbt_subquery
        {%- endset -%}
        {{ return(filtered) }}
    {%- endif -%}
    {{ return(relation) }}
{%- endmacro %}

{#
  SQLite flattens the scoped subquery into the test's GROUP BY and then prefers walking the key's
  index over the whole table to reading the few rebuilt rows; `limit -1` (no limit) keeps the
  subquery whole. PostgreSQL plans it well as it is.
#}
{% macro scope_fence() -%}
    {{ return(adapter.dispatch('scope_fence', 'balancewatch')()) }}
{%- endmacro %}

{% macro sqlite__scope_fence() %} limit -1{% endmacro %}

{% macro default__scope_fence() %}{% endmacro %}
