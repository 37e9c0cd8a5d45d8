{#
  Timestamp helpers. The export writes UTC timestamps as 'YYYY-MM-DDTHH:MM:SS[.f{0,9}]Z'
  (CREATED_AT always has 3 fractional digits; organizations' CREATED_DATE has 0 to 9).
  Staging normalises all of them to ONE form, microseconds, always 6 digits:
      'YYYY-MM-DDTHH:MM:SS.ffffffZ'
  which sorts correctly as text, keeps every digit the export uses in practice (7-9 digits are
  truncated to 6) and parses with Python's datetime.fromisoformat.
#}

{# Normalise an export timestamp (text, validated by the loader) to 'YYYY-MM-DDTHH:MM:SS.ffffffZ'. #}
{% macro normalize_utc_timestamp(timestamp_text) -%}
    {{ return(adapter.dispatch('normalize_utc_timestamp', 'balancewatch')(timestamp_text)) }}
{%- endmacro %}

{% macro default__normalize_utc_timestamp(timestamp_text) -%}
    {#- characters 1-19 are the seconds; then '.' + digits (optional), then 'Z' -#}
    case when {{ timestamp_text }} is not null then
        substr({{ timestamp_text }}, 1, 19)
        || '.'
        || substr(
            case
                when length({{ timestamp_text }}) > 20
                    then substr({{ timestamp_text }}, 21, length({{ timestamp_text }}) - 21)
                else ''
            end || '000000',
            1, 6
        )
        || 'Z'
    end
{%- endmacro %}


{# The UTC calendar day ('YYYY-MM-DD') of a normalised UTC timestamp. #}
{% macro utc_date(normalized_timestamp) -%}
    {{ return(adapter.dispatch('utc_date', 'balancewatch')(normalized_timestamp)) }}
{%- endmacro %}

{% macro default__utc_date(normalized_timestamp) -%}
    substr({{ normalized_timestamp }}, 1, 10)
{%- endmacro %}
