{#
  dim_organizations' invoice figures, in one form for every way it computes them: each invoice
  version is a row of figures (invoice_figures, with a weight: 1 counts the version, -1 takes a
  replaced version out), and an organization's figures are the sums of its rows
  (summed_invoice_figures). A stored dim_organizations row is already in that form
  (stored_invoice_figures), so old row + new versions - replaced versions is one more sum. The
  additive figures are integers (counts, micro-USD): exact in any order and grouping.
#}

{# Counts and micro-USD sums: added up, and kept in dim_organizations under these names. #}
{% macro additive_invoice_figures() -%}
    {%- set counts = [] -%}
    {%- for status in var('invoice_statuses') -%}
        {%- do counts.append(status ~ '_invoice_count') -%}
    {%- endfor -%}
    {{ return(['invoice_count'] + counts
              + ['_lifetime_paid_micros', '_lifetime_refunded_micros', '_balance_micros']) }}
{%- endmacro %}

{# The figures of one invoice version (columns status, amount_usd, balance_effect_usd,
   created_date, _load_id), counted `weight` times. #}
{% macro invoice_figures(weight=1) -%}
    {%- set times = '' if weight == 1 else weight ~ ' * ' -%}
    {{ weight }} as invoice_count,
    {% for status in var('invoice_statuses') -%}
    case when status = '{{ status }}' then {{ weight }} else 0 end as {{ status }}_invoice_count,
    {% endfor -%}
    case when status = 'paid' then {{ times }}{{ usd_to_micros('amount_usd') }} else 0 end
        as _lifetime_paid_micros,
    case when status = 'refunded' then {{ times }}{{ usd_to_micros('amount_usd') }} else 0 end
        as _lifetime_refunded_micros,
    {{ times }}{{ usd_to_micros('balance_effect_usd') }} as _balance_micros,
    created_date as first_invoice_date,
    created_date as last_invoice_date,
    _load_id as invoice_load_id
{%- endmacro %}

{# A stored dim_organizations row as figures (its `_load_id` stands for its invoices' newest
   load: the organization's own load can only have grown since). #}
{% macro stored_invoice_figures() -%}
    {%- for column in additive_invoice_figures() %}
    {{ column }},
    {%- endfor %}
    first_invoice_date,
    last_invoice_date,
    _load_id as invoice_load_id
{%- endmacro %}

{# An organization's figures from its rows of figures (per `group by organization_id`). #}
{% macro summed_invoice_figures() -%}
    {%- for column in additive_invoice_figures() %}
    sum({{ column }}) as {{ column }},
    {%- endfor %}
    min(first_invoice_date) as first_invoice_date,
    max(last_invoice_date) as last_invoice_date,
    max(invoice_load_id) as invoice_load_id
{%- endmacro %}
