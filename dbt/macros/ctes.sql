{#
  CTE hints. SQLite and PostgreSQL accept `as materialized` / `as not materialized`, which the
  models use to steer their planners (see the comments where they are used). Spark has no such
  syntax (its optimizer decides): no hint there.
    cte_hint('materialized') / cte_hint('not materialized') -> the keywords, or nothing.
#}
{% macro cte_hint(hint) -%}
    {{ return(adapter.dispatch('cte_hint', 'balancewatch')(hint)) }}
{%- endmacro %}

{% macro default__cte_hint(hint) -%}
    {{ hint }}
{%- endmacro %}

{% macro spark__cte_hint(hint) -%}
{%- endmacro %}

{# `delete from relation where predicate` for post-hooks; nothing on Spark, whose parquet
   tables cannot delete rows (there, the models that would need it are rebuilt whole: see
   their configs). #}
{% macro delete_rows(relation, predicate) -%}
    {{ return(adapter.dispatch('delete_rows', 'balancewatch')(relation, predicate)) }}
{%- endmacro %}

{% macro default__delete_rows(relation, predicate) -%}
    delete from {{ relation }} where {{ predicate }}
{%- endmacro %}

{% macro spark__delete_rows(relation, predicate) -%}
{%- endmacro %}
