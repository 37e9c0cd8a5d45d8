{#
  Balances are summed in integer micro-dollars (USD x 1e6, rounded per invoice). Integer sums are
  exact and independent of row order, so an incremental build of fact_daily_balance gives exactly
  (bit for bit) what a full refresh gives, and dim_organizations.current_balance_usd equals the last
  fact_daily_balance.balance_usd. Rounding to 1e-6 USD per invoice is far below a cent.
#}

{% macro usd_to_micros(usd) -%}
    cast(round({{ usd }} * 1000000) as {{ dbt.type_bigint() }})
{%- endmacro %}

{% macro micros_to_usd(micros) -%}
    cast({{ micros }} as {{ dbt.type_float() }}) / 1000000
{%- endmacro %}

{# USD from an amount and its FX rate (units of the currency per 1 USD: divide); a rate <= 0 is
   invalid -> NULL. #}
{% macro to_usd(amount, fx_rate) -%}
    cast(case when {{ fx_rate }} > 0 then {{ amount }} / {{ fx_rate }} end as {{ dbt.type_float() }})
{%- endmacro %}

{# An invoice's signed move of its organization's balance: its status' sign (seed balance_rules;
   NULL for a status missing there: no move) times its USD amount. #}
{% macro balance_effect_usd(balance_sign, amount_usd) -%}
    cast(coalesce({{ balance_sign }}, 0) * {{ amount_usd }} as {{ dbt.type_float() }})
{%- endmacro %}

{#
  dbt.type_float() is `float` on Spark: 4 bytes (7 digits), too coarse for balances in USD. Every
  float of the project is a double there (the 8-byte float SQLite's REAL and PostgreSQL's
  `float` already are). Found through the project's dispatch config (dbt_project.yml).
#}
{% macro spark__type_float() -%}
    {{ return('double') }}
{%- endmacro %}
