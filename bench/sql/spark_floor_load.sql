-- The Spark floor's load: each export read by Spark's own CSV reader and written as a parquet
-- table with the loader's column types, one statement per table (no validation, no merge, no
-- _load_id). {organizations} and {invoices} are the delivery's CSV paths (Spark reads a glob).
create or replace temporary view floor_organizations_csv using csv
    options (path '{organizations}', header 'true');
create or replace temporary view floor_invoices_csv using csv
    options (path '{invoices}', header 'true');
create table organizations using parquet as
select
    cast(ORGANIZATION_ID as bigint) as organization_id,
    FIRST_PAYMENT_DATE as first_payment_date,
    LAST_PAYMENT_DATE as last_payment_date,
    cast(LEGAL_ENTITY_COUNTRY_CODE as bigint) as legal_entity_country_code,
    cast(COUNT_TOTAL_CONTRACTS_ACTIVE as int) as count_total_contracts_active,
    CREATED_DATE as created_date
from floor_organizations_csv;
create table invoices using parquet as
select
    cast(INVOICE_ID as bigint) as invoice_id,
    cast(PARENT_INVOICE_ID as bigint) as parent_invoice_id,
    cast(TRANSACTION_ID as bigint) as transaction_id,
    cast(ORGANIZATION_ID as bigint) as organization_id,
    cast(TYPE as bigint) as type,
    STATUS as status,
    CURRENCY as currency,
    PAYMENT_CURRENCY as payment_currency,
    PAYMENT_METHOD as payment_method,
    cast(AMOUNT as double) as amount,
    cast(PAYMENT_AMOUNT as double) as payment_amount,
    cast(FX_RATE as double) as fx_rate,
    cast(FX_RATE_PAYMENT as double) as fx_rate_payment,
    CREATED_AT as created_at
from floor_invoices_csv;
