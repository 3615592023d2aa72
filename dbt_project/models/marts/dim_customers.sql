-- One row per customer who had paid by the as-of date (dim_segments): who they are, when and how they
-- came, what they bought, what they were worth, and the segment campaigns target, all as of that date.
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
    segments.plan,
    segments.billing_cycle,
    case when segments.is_active then 'active' else 'churned' end as status,
    segments.mrr_brl as current_mrr_brl,
    segments.paid_orders as orders,
    segments.last_order_date,
    segments.revenue_to_date_brl,
    segments.segment,
    coalesce(contacts.whatsapp_opt_in, false) as whatsapp_opt_in
from {{ ref('int_customers') }} as customers
-- dim_segments holds every customer who had paid by the as-of date, with what they had bought by then
inner join {{ ref('dim_segments') }} as segments on customers.customer_id = segments.customer_id
left join {{ ref('stg_hubspot__contacts') }} as contacts on customers.customer_id = contacts.contact_id
