-- Monthly expenses per account; `category` is the DRE line the account rolls up to.
select
    month as expense_month,
    account,
    category as dre_line,
    amount_brl
from {{ source('raw_sheets', 'expenses') }}
