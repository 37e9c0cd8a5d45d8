{#
  For models incremental on the raw tables' `_load_id`: on an incremental run, only the rows
  (re)written by loads newer than the newest one already in the model. Nothing on a full build.
#}
{% macro rows_from_new_loads() -%}
    {%- if is_incremental() %}
    where _load_id > (select coalesce(max(_load_id), 0) from {{ this }})
    {%- endif %}
{%- endmacro %}
