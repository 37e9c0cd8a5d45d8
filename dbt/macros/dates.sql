{#
  Date arithmetic. Dates travel as ISO text 'YYYY-MM-DD' (SQLite has no date type; cast(... as
  date) yields an integer there). What a database needs of its own sits behind adapter.dispatch:
  sqlite__ for SQLite, default__ for PostgreSQL (and other engines with standard SQL dates).
#}

{# The ISO date `n` days after (or before, n < 0) the ISO date expression `date_text`. #}
{% macro add_days(date_text, n) -%}
    {{ return(adapter.dispatch('add_days', 'balancewatch')(date_text, n)) }}
{%- endmacro %}

{% macro sqlite__add_days(date_text, n) -%}
    date({{ date_text }}, '{{ "%+d" | format(n | int) }} day')
{%- endmacro %}

{% macro default__add_days(date_text, n) -%}
    cast(cast({{ date_text }} as date) + {{ n | int }} as {{ dbt.type_string() }})
{%- endmacro %}


{# Spark: a real date type; cast(date as string) is 'yyyy-MM-dd'. #}
{% macro spark__add_days(date_text, n) -%}
    cast(date_add(cast({{ date_text }} as date), {{ n | int }}) as string)
{%- endmacro %}
