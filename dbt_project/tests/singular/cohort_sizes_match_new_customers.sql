{{ config(meta={'dagster': {'ref': {'name': 'fct_cohort_retention'}}}) }}
-- A cohort's size equals the new customers of its month: the cohort matrix and CAC count the
-- same people.
with cohorts as (
    select cohort_month, max(cohort_size) as cohort_size from {{ ref('fct_cohort_retention') }} group by cohort_month
), acquired as (
    select month, sum(new_customers) as new_customers from {{ ref('fct_cac') }} group by month
)
select cohorts.cohort_month, cohorts.cohort_size, acquired.new_customers
from cohorts
left join acquired on cohorts.cohort_month = acquired.month
where acquired.new_customers is null or acquired.new_customers <> cohorts.cohort_size
