{#
  Override of dbt-sqlite 1.10.0's `sqlite_incremental_upsert` (called by its incremental
  materialization; a root-project macro of the same name takes precedence). The adapter's version
  renders a list unique_key as a Python list, so composite keys break, and deletes before it
  inserts. This one is an SQLite upsert: each row of the new batch whose key (one column or
  several) is already in the target updates that row in place, the others are inserted; the same
  rows as delete+insert (the strategy PostgreSQL's built-in materialization offers natively).
  In place, the key's unique index (every model creates one in a post-hook) is not rewritten and
  fewer pages are journaled: 170k fact_daily_balance rows at full scale, 0.66 s -> 0.40 s.
  A batch repeating a key fails (a unique index on the batch) instead of keeping its last row.
  Tested on a project of its own: tests/test_dbt_upsert.py.
#}
{% macro sqlite_incremental_upsert(tmp_relation, target_relation, unique_key=none, statement_name="main") %}
    {%- set dest_columns = adapter.get_columns_in_relation(target_relation) -%}
    {%- set dest_cols_csv = dest_columns | map(attribute='quoted') | join(', ') -%}

    {%- set key_columns = none if unique_key is none
        else [unique_key] if unique_key is string else unique_key %}
    {%- if key_columns is not none %}
        {#- an upsert would keep the last of two batch rows with one key (delete+insert failed on
            the unique index): fail on them, loudly, before anything is written -#}
        {% call statement('sqlite_incremental_upsert_unique_batch') -%}
            create unique index {{ tmp_relation.schema }}.{{ tmp_relation.identifier }}__key
                on {{ tmp_relation.identifier }} ({{ key_columns | join(', ') }})
        {%- endcall %}
    {%- endif %}

    insert into {{ target_relation }} ({{ dest_cols_csv }})
        select {{ dest_cols_csv }}
        from {{ tmp_relation }}
    {%- if key_columns is not none %}
        where true  {# SQLite: an upsert's SELECT needs a WHERE, else ON reads as a join #}
        on conflict ({{ key_columns | join(', ') }}) do update set
        {%- for column in dest_columns if column.name not in key_columns %}
            {{ column.quoted }} = excluded.{{ column.quoted }}{{ "," if not loop.last }}
        {%- endfor %}
    {%- endif %}
{%- endmacro %}
