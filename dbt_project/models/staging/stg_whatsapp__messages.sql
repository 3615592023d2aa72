-- Inbound WhatsApp messages from customers (replies, opt-outs, service questions).
select
    message_id,
    wa_id,
    profile_name,
    type as message_type,
    text_body,
    context_message_id,
    timestamp as received_at,
    coalesce(is_opt_out, false) as is_opt_out
from {{ source('raw_whatsapp', 'messages') }}
