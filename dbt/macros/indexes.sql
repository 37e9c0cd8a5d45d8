{#
  `create index if not exists`, for post-hooks. dbt-sqlite ignores the `indexes` model config, and
  SQLite wants the schema on the index name rather than on the table.
#}
{% macro create_index(relation, columns, unique=false) -%}
    {{ return(adapter.dispatch('create_index', 'balancewatch')(relation, columns, unique)) }}
{%- endmacro %}

{% macro sqlite__create_index(relation, columns, unique) -%}
    create {% if unique %}unique {% endif %}index if not exists
        {{ relation.schema }}.{{ relation.identifier }}__{{ columns | join('__') }}
        on {{ relation.identifier }} ({{ columns | join(', ') }})
{%- endmacro %}

{% macro default__create_index(relation, columns, unique) -%}
    create {% if unique %}unique {% endif %}index if not exists
        {{ relation.identifier }}__{{ columns | join('__') }}
        on {{ relation }} ({{ columns | join(', ') }})
{%- endmacro %}
