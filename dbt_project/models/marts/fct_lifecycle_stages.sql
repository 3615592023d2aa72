-- Contacts by HubSpot lifecycle stage, in HubSpot's default order (a contact moves forward
-- only, so contacts_reached = contacts in this stage or a later one). Stages outside the default
-- list (custom values, or none: 'unknown') get a row without an order or reached count.
with stages as (
    select * from (
        values
            ('subscriber', 1),
            ('lead', 2),
            ('marketingqualifiedlead', 3),
            ('salesqualifiedlead', 4),
            ('opportunity', 5),
            ('customer', 6),
            ('evangelist', 7)
    ) as stage_list (lifecycle_stage, stage_order)
), contacts as (
    select coalesce(lifecycle_stage, 'unknown') as lifecycle_stage, count(*) as contacts
    from {{ ref('stg_hubspot__contacts') }}
    group by coalesce(lifecycle_stage, 'unknown')
), all_stages as (
    select lifecycle_stage, stage_order from stages
    union all
    select lifecycle_stage, cast(null as integer) as stage_order
    from contacts
    where lifecycle_stage not in (select lifecycle_stage from stages)
), counted as (
    select
        all_stages.lifecycle_stage,
        all_stages.stage_order,
        coalesce(contacts.contacts, 0) as contacts
    from all_stages
    left join contacts on all_stages.lifecycle_stage = contacts.lifecycle_stage
), reached as (
    select
        counted.*,
        case when counted.stage_order is not null then
            sum(case when counted.stage_order is not null then counted.contacts else 0 end) over (
                order by counted.stage_order desc nulls last rows between unbounded preceding and current row
            )
        end as contacts_reached,
        sum(counted.contacts) over () as total_contacts
    from counted
)

select
    lifecycle_stage,
    stage_order,
    contacts,
    {{ safe_divide('contacts', 'total_contacts') }} as contacts_pct,
    contacts_reached,
    {{ safe_divide(
        'contacts_reached',
        'lag(contacts_reached) over (order by stage_order nulls last)'
    ) }} as conversion_from_previous_rate
from reached
