{# The warehouse hashed NULLs into a fixed value; turn it back into NULL (staging only). #}
{% macro nullif_hash_null(column) -%}
    nullif({{ column }}, {{ var('hash_null_sentinel') }})
{%- endmacro %}
