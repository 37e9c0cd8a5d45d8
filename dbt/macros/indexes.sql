{#
  `create index if not exists`, for post-hooks. dbt-sqlite ignores the `indexes` model config, and
  SQLite wants the schema on the index name rather than on the table. `where`: a partial index
  (the rows matching that predicate only).
#}
{% macro create_index(relation, columns, unique=false, name=none, where=none) -%}
    {%- set index_name = name or (relation.identifier ~ '__' ~ (columns | join('__'))) -%}
    {{ return(adapter.dispatch('create_index', 'balancewatch')(
        relation, columns, unique, index_name, where)) }}
{%- endmacro %}

{% macro sqlite__create_index(relation, columns, unique, index_name, where) -%}
    create {% if unique %}unique {% endif %}index if not exists
        {{ relation.schema }}.{{ index_name }}
        on {{ relation.identifier }} ({{ columns | join(', ') }})
        {%- if where %} where {{ where }}{% endif %}
{%- endmacro %}

{% macro default__create_index(relation, columns, unique, index_name, where) -%}
    create {% if unique %}unique {% endif %}index if not exists
        {{ index_name }}
        on {{ relation }} ({{ columns | join(', ') }})
        {%- if where %} where {{ where }}{% endif %}
{%- endmacro %}

{# Spark has no indexes: nothing (an empty hook is skipped). #}
{% macro spark__create_index(relation, columns, unique, index_name, where) -%}
{%- endmacro %}

{#
  PostgreSQL names indexes per schema, and a table model is rebuilt beside its old copy (renamed
  to a backup, dropped after the post-hooks): an index of the same name on the backup would make
  `if not exists` skip the new table. Drop such a stale index first.
#}
{% macro postgres__create_index(relation, columns, unique, index_name, where) -%}
    {%- set qualified = relation.schema ~ '.' ~ index_name -%}
    do $$
    begin
        if exists (
            select 1 from pg_index
            where indexrelid = to_regclass('{{ qualified }}')
                and indrelid <> to_regclass('{{ relation }}')
        ) then
            drop index {{ qualified }};
        end if;
    end
    $$;
    create {% if unique %}unique {% endif %}index if not exists {{ index_name }}
        on {{ relation }} ({{ columns | join(', ') }})
        {%- if where %} where {{ where }}{% endif %}
{%- endmacro %}
