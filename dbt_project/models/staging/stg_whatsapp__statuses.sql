-- Delivery status events of the messages we sent, one per (message, status).
with ranked as (
    select
        *,
        row_number() over (partition by message_id, status order by timestamp) as event_rank
    from {{ source('raw_whatsapp', 'statuses') }}
)

select
    message_id,
    status,
    timestamp as status_at,
    recipient_id as wa_id,
    campaign_id,
    variant,
    conversation_id,
    conversation_origin_type,
    pricing_category,
    pricing_model,
    billable,
    error_code,
    error_title
from ranked
where event_rank = 1
