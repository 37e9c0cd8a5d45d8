-- The floor's raw tables: the loader's columns, types and keys (loaders/schema.py), without
-- _load_id (`.import` fills every column of the table from the CSV, in the CSV's order).
create table organizations (
    organization_id              bigint primary key,
    first_payment_date           text,
    last_payment_date            text,
    legal_entity_country_code    bigint,
    count_total_contracts_active integer,
    created_date                 text not null
);

create table invoices (
    invoice_id        bigint primary key,
    parent_invoice_id bigint not null,
    transaction_id    bigint not null,
    organization_id   bigint not null,
    type              bigint not null,
    status            text not null,
    currency          text not null,
    payment_currency  text,
    payment_method    text,
    amount            real not null,
    payment_amount    real,
    fx_rate           real not null,
    fx_rate_payment   real,
    created_at        text not null
);
