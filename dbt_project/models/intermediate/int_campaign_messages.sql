-- One row per WhatsApp campaign message we sent, with its fate, following the demo world's
-- "Counting like the ground truth": statuses deduplicated by (message id, status) (staging);
-- a message exists once any status names it; delivered = a `delivered` OR a `read` status (Meta
-- skips `delivered` when the chat is open); a reply belongs to the message it quotes, else to the
-- latest campaign message sent to the same wa_id at most `campaign_reply_window_days` before it;
-- converted = a closed-won deal of the contact whose São Paulo close date is 1..N days after the
-- São Paulo send date (N = `campaign_conversion_window_days`).
with statuses as (
    select * from {{ ref('stg_whatsapp__statuses') }}
    where campaign_id is not null
), messages as (
    select
        message_id,
        -- every status of a message carries the same callback data and recipient; max() only
        -- collapses them (and survives a status that lost them)
        max(campaign_id) as campaign_id,
        max(variant) as variant,
        max(wa_id) as wa_id,
        -- the earliest event is the send: `sent`, or `failed` for a message that failed at once
        min(status_at) as sent_at,
        max(case when status in ('delivered', 'read') then 1 else 0 end) as is_delivered,
        max(case when status = 'read' then 1 else 0 end) as is_read,
        max(case when status = 'failed' then 1 else 0 end) as is_failed,
        max(case when status = 'failed' then error_code end) as error_code
    from statuses
    group by message_id
), contacts as (
    -- one contact per WhatsApp number (phones are unique in the CRM; the lowest id if not)
    select wa_id, min(contact_id) as contact_id
    from {{ ref('stg_hubspot__contacts') }}
    where wa_id is not null
    group by wa_id
), inbound as (
    select message_id as reply_id, wa_id, context_message_id, received_at, is_opt_out
    from {{ ref('stg_whatsapp__messages') }}
), quoted_replies as (
    -- the reply quotes one of our campaign messages: it belongs to that message
    select inbound.reply_id, messages.message_id, inbound.received_at, inbound.is_opt_out
    from inbound
    inner join messages on inbound.context_message_id = messages.message_id
), window_candidates as (
    -- no quote: the campaign messages sent to the same number within the window before the reply
    select
        inbound.reply_id,
        messages.message_id,
        inbound.received_at,
        inbound.is_opt_out,
        row_number() over (
            partition by inbound.reply_id order by messages.sent_at desc, messages.message_id desc
        ) as recency_rank
    from inbound
    inner join messages
        on inbound.wa_id = messages.wa_id
        and messages.sent_at <= inbound.received_at
        and messages.sent_at >= inbound.received_at - interval '{{ var("campaign_reply_window_days") }} days'
    where inbound.context_message_id is null
), attributed_replies as (
    select reply_id, message_id, received_at, is_opt_out from quoted_replies
    union all
    select reply_id, message_id, received_at, is_opt_out from window_candidates where recency_rank = 1
), replies_per_message as (
    select
        message_id,
        count(*) as replies,
        min(received_at) as first_reply_at,
        max(case when is_opt_out then 1 else 0 end) as has_opted_out
    from attributed_replies
    group by message_id
), sends as (
    select
        messages.*,
        contacts.contact_id,
        {{ local_date('messages.sent_at') }} as send_date
    from messages
    left join contacts on messages.wa_id = contacts.wa_id
), conversions as (
    -- the first closed-won deal 1..N São Paulo days after the send
    select
        sends.message_id,
        min(deals.close_date) as converted_on
    from sends
    inner join {{ ref('stg_hubspot__deals') }} as deals
        on sends.contact_id = deals.contact_id
        and deals.is_closed_won
        and deals.close_date >= sends.send_date + 1
        and deals.close_date <= sends.send_date + {{ var('campaign_conversion_window_days') }}
    group by sends.message_id
)

select
    sends.message_id,
    sends.campaign_id,
    sends.variant,
    sends.wa_id,
    sends.contact_id,
    sends.sent_at,
    sends.send_date,
    sends.is_delivered = 1 as is_delivered,
    sends.is_read = 1 as is_read,
    sends.is_failed = 1 as is_failed,
    sends.error_code,
    coalesce(replies_per_message.replies, 0) as replies,
    replies_per_message.first_reply_at,
    replies_per_message.message_id is not null as has_replied,
    coalesce(replies_per_message.has_opted_out, 0) = 1 as has_opted_out,
    conversions.message_id is not null as is_converted,
    conversions.converted_on,
    {{ days_between('sends.send_date', 'conversions.converted_on') }} as days_to_conversion
from sends
left join replies_per_message on sends.message_id = replies_per_message.message_id
left join conversions on sends.message_id = conversions.message_id
