-- One row per invoice, with its signed effect on the organization's balance (balance rule from
-- seed balance_rules) and whether its organization is missing from the export (orphan).
{{ config(
    post_hook=[
        "{{ create_index(this, ['organization_id', 'created_date']) }}",
    ],
) }}

with

invoices as (
    select * from {{ ref('stg_invoices') }}
),

organizations as (
    select organization_id from {{ ref('stg_organizations') }}
),

balance_rules as (
    select status, balance_sign from {{ ref('balance_rules') }}
),

signed as (
    select
        invoices.*,
        -- a status missing from the rule moves nothing (and fails stg_invoices' tests)
        coalesce(balance_rules.balance_sign, 0) as balance_sign,
        organizations.organization_id is null as is_orphan
    from invoices
    left join balance_rules
        on invoices.status = balance_rules.status
    left join organizations
        on invoices.organization_id = organizations.organization_id
),

final as (
    select
        invoice_id,
        organization_id,
        parent_invoice_id,
        transaction_id,
        invoice_type,
        status,
        currency,
        amount,
        fx_rate,
        amount_usd,
        payment_currency,
        payment_method,
        payment_amount,
        fx_rate_payment,
        payment_amount_usd,
        created_at,
        created_date,
        cast(balance_sign as {{ dbt.type_int() }}) as balance_sign,
        cast(balance_sign * amount_usd as {{ dbt.type_float() }}) as balance_effect_usd,
        cast(is_orphan as {{ dbt.type_boolean() }}) as is_orphan,
        _load_id
    from signed
)

select * from final
