-- One row per paying customer: who they are, when and how they came, what they buy, what they
-- are worth so far, and the segment campaigns target.
select
    customers.customer_id,
    contacts.email,
    contacts.phone,
    contacts.wa_id,
    contacts.first_name,
    contacts.last_name,
    contacts.city,
    contacts.state,
    customers.first_order_date,
    customers.cohort_month,
    customers.acquisition_channel,
    customers.plan,
    customers.billing_cycle,
    case when segments.is_active then 'active' else 'churned' end as status,
    segments.mrr_brl as current_mrr_brl,
    customers.orders,
    customers.last_order_date,
    customers.revenue_to_date_brl,
    segments.segment,
    coalesce(contacts.whatsapp_opt_in, false) as whatsapp_opt_in
from {{ ref('int_customers') }} as customers
left join {{ ref('stg_hubspot__contacts') }} as contacts on customers.customer_id = contacts.contact_id
left join {{ ref('dim_segments') }} as segments on customers.customer_id = segments.customer_id
