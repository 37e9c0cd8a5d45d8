{#
  For models incremental on the raw tables' `_load_id`.

  newest_load_built(): the newest `_load_id` the model already holds (0 when empty), as a scalar
  subquery.
  rows_from_new_loads(): on an incremental run, only the rows (re)written by loads newer than
  that. Nothing on a full build.
#}
{% macro newest_load_built() -%}
    (select coalesce(max(_load_id), 0) from {{ this }})
{%- endmacro %}

{% macro rows_from_new_loads() -%}
    {%- if is_incremental() %}
    where _load_id > {{ newest_load_built() }}
    {%- endif %}
{%- endmacro %}
