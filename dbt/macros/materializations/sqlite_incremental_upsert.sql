{#
  Override of dbt-sqlite 1.10.0's `sqlite_incremental_upsert` (called by its incremental
  materialization; a root-project macro of the same name takes precedence). The adapter's version
  renders a list unique_key as a Python list, so composite keys break. This one deletes the target
  rows whose key (one column or several, as a row value) appears in the new batch, then inserts the
  batch: delete+insert, the strategy PostgreSQL's built-in materialization offers natively.
#}
{% macro sqlite_incremental_upsert(tmp_relation, target_relation, unique_key=none, statement_name="main") %}
    {%- set dest_columns = adapter.get_columns_in_relation(target_relation) -%}
    {%- set dest_cols_csv = dest_columns | map(attribute='quoted') | join(', ') -%}

    {%- if unique_key is not none -%}
        {%- set key_columns = [unique_key] if unique_key is string else unique_key -%}
        {%- set key_csv = key_columns | join(', ') -%}
        {% call statement('sqlite_incremental_upsert') -%}
            delete from {{ target_relation }}
            where ({{ key_csv }}) in (
                select {{ key_csv }}
                from {{ tmp_relation }}
            )
        {%- endcall %}
    {%- endif %}

    insert into {{ target_relation }} ({{ dest_cols_csv }})
        select {{ dest_cols_csv }}
        from {{ tmp_relation }}
{%- endmacro %}
