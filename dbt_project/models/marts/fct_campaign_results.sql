-- WhatsApp campaign results per campaign and A/B variant, counted like the demo world's ground
-- truth (see int_campaign_messages). Counts of messages: sent, delivered, read, failed; counts of
-- contacts (WhatsApp numbers): replied, opted_out; of CRM contacts: converted.
with messages as (
    select * from {{ ref('int_campaign_messages') }}
), by_variant as (
    select
        campaign_id,
        variant,
        min(send_date) as first_send_date,
        max(send_date) as last_send_date,
        count(*) as sent,
        count(case when is_delivered then 1 end) as delivered,
        count(case when is_read then 1 end) as read_messages,
        count(case when is_failed then 1 end) as failed,
        count(distinct case when has_replied then wa_id end) as replied,
        count(distinct case when has_opted_out then wa_id end) as opted_out,
        count(distinct case when is_converted then contact_id end) as converted
    from messages
    group by campaign_id, variant
), as_of as (
    select max(as_of_date) as as_of_date from {{ ref('int_reporting_months') }}
)

select
    by_variant.campaign_id,
    by_variant.variant,
    by_variant.first_send_date,
    by_variant.last_send_date,
    by_variant.sent,
    by_variant.delivered,
    by_variant.read_messages as read,
    by_variant.failed,
    by_variant.replied,
    by_variant.opted_out,
    by_variant.converted,
    {{ safe_divide('by_variant.delivered', 'by_variant.sent') }} as delivery_rate,
    {{ safe_divide('by_variant.failed', 'by_variant.sent') }} as failure_rate,
    {{ safe_divide('by_variant.read_messages', 'by_variant.delivered') }} as read_rate,
    {{ safe_divide('by_variant.replied', 'by_variant.delivered') }} as reply_rate,
    {{ safe_divide('by_variant.opted_out', 'by_variant.delivered') }} as opt_out_rate,
    {{ safe_divide('by_variant.converted', 'by_variant.sent') }} as conversion_rate,
    {{ safe_divide('by_variant.converted', 'by_variant.read_messages') }} as conversion_given_read_rate,
    -- conversions can still arrive until the window after the last send has passed
    by_variant.last_send_date + {{ var('campaign_conversion_window_days') }} <= as_of.as_of_date as is_complete
from by_variant
cross join as_of
