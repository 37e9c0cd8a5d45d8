{#-
  One row per organization: every organization of the export, plus every organization seen only
  in invoices (is_orphan), enriched with its invoice history and current balance.

  Incremental (delete+insert on organization_id). `_load_id` is the newest load among the
  organization's stg_organizations row and its fact_invoices rows, so the table's newest
  `_load_id` (N) is the newest load the last build reflected (every load writes organizations or
  invoices). A run rebuilds each organization with a fact_invoices row or a stg_organizations
  row of a load newer than N (new invoices, status changes, an orphan's organization delivered,
  changed export attributes), in one of two ways:
    * by delta (the daily case): its stored row, plus the figures of its changed invoices, minus
      those of the versions they replaced. The loader keeps a replaced version's organization,
      status, amount, FX rate and created_at (raw `_previous_*`, cleaned by stg_invoices), so the
      replaced contribution is known exactly when that version is the one the last build counted
      (`_previous_load_id` <= N) and only its status differs: same organization, day and USD
      amount, hence also the same first/last invoice dates. A new invoice (never replaced) only
      adds. Reads: the changed invoices (`_load_id` index of fact_invoices, joined by key to
      stg_invoices) and the stored rows;
    * whole (the existing recompute) when any changed invoice of the organization changed
      anything else (amount, FX rate, day, organization: then also the organization it left), or
      when an invoice was replaced more than once since N (the version the last build counted
      is no longer kept; then every organization, since the one it had then is unknown). Reads
      the organization's whole history through the fact_invoices (organization_id,
      created_date) covering index.
  The figures are kept in integer form (counts, and micro-USD sums in `_*_micros`), so old row +
  new versions - replaced versions equals, bit for bit, the aggregate of a full refresh
  (macros/invoice_figures.sql). An organization left with neither an export row nor invoices
  (its only invoice moved away) comes out as an orphan without invoices, a row a full refresh
  never has: the post-hook deletes it.
  After upgrading from a release without stg_invoices' `_previous_*` columns, run
  `balancewatch build --full-refresh` once.
-#}
{# On Spark (no Delta, hence no delete+insert by key): a table rebuilt by every build. #}
{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='delete+insert',
    unique_key='organization_id',
    on_schema_change='fail',
    post_hook=[
        "{{ create_index(this, ['organization_id'], unique=true) }}",
        "{{ delete_rows(this, 'is_orphan and not has_invoices') }}",
    ],
) }}
-- depends_on: {{ ref('stg_invoices') }}, {{ ref('balance_rules') }} (incremental runs only)

with

{% if is_incremental() %}

changed_invoices as {{ cte_hint('materialized') }} (
    -- the invoices (re)written by loads newer than N, each with how it changed
    select
        fact.organization_id,
        fact.created_date,
        fact.status,
        fact.amount_usd,
        fact.balance_effect_usd,
        fact._load_id,
        stg._previous_organization_id,
        stg._previous_status,
        case
            when stg._previous_load_id is null then 'new'
            -- replaced again since N: the version the last build counted is not kept
            when stg._previous_load_id > {{ newest_load_built() }} then 'unknown'
            when stg._previous_organization_id = fact.organization_id
                and stg._previous_created_date = fact.created_date
                and stg._previous_amount_usd = fact.amount_usd
                then 'status'
            else 'other'
        end as change_kind
    from {{ ref('fact_invoices') }} as fact
    inner join {{ ref('stg_invoices') }} as stg
        on stg.invoice_id = fact.invoice_id
    where fact._load_id > {{ newest_load_built() }}
),

recomputed_organizations as (
    select organization_id
    from changed_invoices
    where change_kind in ('other', 'unknown')
    union
    select _previous_organization_id
    from changed_invoices
    where change_kind in ('other', 'unknown') and _previous_organization_id is not null
    union
    select organization_id
    from {{ this }}
    where exists (select 1 from changed_invoices where change_kind = 'unknown')
),

rebuilt_organizations as (
    select organization_id from changed_invoices
    union
    select organization_id
    from {{ ref('stg_organizations') }}
    where _load_id > {{ newest_load_built() }}
    union
    select organization_id from recomputed_organizations
),

organizations as (
    select * from {{ ref('stg_organizations') }}
    where organization_id in (select organization_id from rebuilt_organizations)
),

recomputed_invoices as {{ cte_hint('not materialized') }} (
    -- only columns of index fact_invoices__by_organization, read in its order: the table rows
    -- are never read and the GROUP BY needs no sort
    select organization_id, created_date, status, amount_usd, balance_effect_usd, _load_id
    from {{ ref('fact_invoices') }}
    where organization_id in (select organization_id from recomputed_organizations)
),

delta_rows as (
    -- the stored row of each organization rebuilt by delta (none for a new one) ...
    select organization_id, {{ stored_invoice_figures() }}
    from {{ this }}
    where organization_id in (select organization_id from rebuilt_organizations)
        and organization_id not in (select organization_id from recomputed_organizations)
    union all
    -- ... its changed invoices (all new or status changes) ...
    select organization_id, {{ invoice_figures() }}
    from changed_invoices
    where organization_id not in (select organization_id from recomputed_organizations)
    union all
    -- ... minus the versions they replaced: the same invoice with its previous status
    select organization_id, {{ invoice_figures(weight=-1) }}
    from (
        select
            changed_invoices.organization_id,
            changed_invoices.created_date,
            changed_invoices._previous_status as status,
            changed_invoices.amount_usd,
            {{ balance_effect_usd('balance_rules.balance_sign', 'changed_invoices.amount_usd') }}
                as balance_effect_usd,
            changed_invoices._load_id
        from changed_invoices
        left join {{ ref('balance_rules') }} as balance_rules
            on changed_invoices._previous_status = balance_rules.status
        where changed_invoices.change_kind = 'status'
            and changed_invoices.organization_id
                not in (select organization_id from recomputed_organizations)
    ) as replaced_versions
),

invoice_summary as (
    select organization_id, {{ summed_invoice_figures() }}
    from (select organization_id, {{ invoice_figures() }} from recomputed_invoices) as figures
    group by organization_id
    union all
    select organization_id, {{ summed_invoice_figures() }}
    from delta_rows
    group by organization_id
),

all_organizations as (
    select organization_id from rebuilt_organizations
),

{% else %}

organizations as (
    select * from {{ ref('stg_organizations') }}
),

invoice_summary as (
    -- through the covering index fact_invoices__by_organization, in its order (no sort)
    select organization_id, {{ summed_invoice_figures() }}
    from (
        select organization_id, {{ invoice_figures() }}
        from {{ ref('fact_invoices') }}
    ) as figures
    group by organization_id
),

all_organizations as (
    select organization_id from organizations
    union
    select organization_id from invoice_summary
),

{% endif %}

final as (
    select
        cast(all_organizations.organization_id as {{ dbt.type_bigint() }}) as organization_id,
        cast(organizations.organization_id is null as {{ dbt.type_boolean() }}) as is_orphan,
        cast(
            coalesce(invoice_summary.invoice_count, 0) > 0 as {{ dbt.type_boolean() }}
        ) as has_invoices,
        organizations.created_at,
        organizations.created_date,
        organizations.legal_entity_country_code,
        organizations.active_contract_count,
        organizations.first_payment_date,
        organizations.last_payment_date,
        cast(invoice_summary.first_invoice_date as {{ dbt.type_string() }}) as first_invoice_date,
        cast(invoice_summary.last_invoice_date as {{ dbt.type_string() }}) as last_invoice_date,
        cast(coalesce(invoice_summary.invoice_count, 0) as {{ dbt.type_bigint() }}) as invoice_count,
        {% for status in var('invoice_statuses') -%}
        cast(
            coalesce(invoice_summary.{{ status }}_invoice_count, 0) as {{ dbt.type_bigint() }}
        ) as {{ status }}_invoice_count,
        {% endfor -%}
        cast(
            {{ micros_to_usd('coalesce(invoice_summary._lifetime_paid_micros, 0)') }}
            as {{ dbt.type_float() }}
        ) as lifetime_paid_usd,
        cast(
            {{ micros_to_usd('coalesce(invoice_summary._lifetime_refunded_micros, 0)') }}
            as {{ dbt.type_float() }}
        ) as lifetime_refunded_usd,
        cast(
            {{ micros_to_usd('coalesce(invoice_summary._balance_micros, 0)') }}
            as {{ dbt.type_float() }}
        ) as current_balance_usd,
        -- bookkeeping for incremental builds and their tests
        cast(
            case
                when organizations._load_id is null then invoice_summary.invoice_load_id
                when invoice_summary.invoice_load_id is null then organizations._load_id
                when organizations._load_id > invoice_summary.invoice_load_id
                    then organizations._load_id
                else invoice_summary.invoice_load_id
            end as {{ dbt.type_bigint() }}
        ) as _load_id,
        -- the money figures in integer micro-USD, which an incremental run adds to
        cast(
            coalesce(invoice_summary._lifetime_paid_micros, 0) as {{ dbt.type_bigint() }}
        ) as _lifetime_paid_micros,
        cast(
            coalesce(invoice_summary._lifetime_refunded_micros, 0) as {{ dbt.type_bigint() }}
        ) as _lifetime_refunded_micros,
        cast(
            coalesce(invoice_summary._balance_micros, 0) as {{ dbt.type_bigint() }}
        ) as _balance_micros
    from all_organizations
    left join organizations
        on all_organizations.organization_id = organizations.organization_id
    left join invoice_summary
        on all_organizations.organization_id = invoice_summary.organization_id
)

select * from final
