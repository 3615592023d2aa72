-- Paid media spend per day, channel and ad campaign.
select
    date as spend_date,
    {{ month_start('date') }} as spend_month,
    channel,
    campaign,
    spend_brl
from {{ source('raw_sheets', 'marketing_spend') }}
