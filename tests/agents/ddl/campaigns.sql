-- Campaign results for the CampaignBuilder tests (tests/agents/test_campaigns.py), as of 2026-11-24.
-- Conversions are what the template rule reads; the other counts only need to be consistent.
-- Converted ÷ sent of the complete campaigns (the baseline): 193 ÷ 1320.
-- Ranking (lower bound of the 90 % Wilson interval of converted ÷ sent, complete campaigns only):
-- frete_gratis_volta 50/400 (0.100, but sent 2026-10-20: fatigued until 2026-12-19) > saudade_pet 36/300 (0.0925)
-- > volta_com_brinde 2/10 (0.068: 20 % on ten messages is not evidence) > reativacao_v1 20/400 (0.035).
-- novidades_racao is still in its conversion window (not ranked, and fatigued); promo_relampago is not an
-- approved template; teste_interno does not follow the cmp_YYYYMM_<base> pattern.
create table marts.fct_campaign_results as
with counts (campaign_id, variant, first_send_date, last_send_date, sent, converted, is_complete) as (
    values
        ('cmp_202603_reativacao_v1', 'A', date '2026-03-05', date '2026-03-05', 200, 8, true),
        ('cmp_202603_reativacao_v1', 'B', date '2026-03-05', date '2026-03-05', 200, 12, true),
        ('cmp_202606_saudade_pet', 'A', date '2026-06-11', date '2026-06-11', 150, 16, true),
        ('cmp_202606_saudade_pet', 'B', date '2026-06-11', date '2026-06-12', 150, 20, true),
        ('cmp_202610_frete_gratis_volta', 'A', date '2026-10-20', date '2026-10-20', 200, 24, true),
        ('cmp_202610_frete_gratis_volta', 'B', date '2026-10-20', date '2026-10-20', 200, 26, true),
        ('cmp_202602_volta_com_brinde', 'A', date '2026-02-12', date '2026-02-12', 5, 1, true),
        ('cmp_202602_volta_com_brinde', 'B', date '2026-02-12', date '2026-02-12', 5, 1, true),
        ('cmp_202611_novidades_racao', 'A', date '2026-11-10', date '2026-11-10', 50, 10, false),
        ('cmp_202611_novidades_racao', 'B', date '2026-11-10', date '2026-11-10', 50, 10, false),
        ('cmp_202609_promo_relampago', 'A', date '2026-09-01', date '2026-09-01', 100, 40, true),
        ('cmp_202609_promo_relampago', 'B', date '2026-09-01', date '2026-09-01', 100, 40, true),
        ('teste_interno', 'A', date '2026-04-01', date '2026-04-01', 10, 5, true)
),
messages as (
    select
        *,
        sent - sent // 10 as delivered,
        (sent - sent // 10) // 2 + converted // 2 as read,
        sent // 20 as failed,
        converted // 2 + 1 as replied,
        0 as opted_out
    from counts
)
select
    campaign_id, variant, first_send_date, last_send_date, sent::bigint as sent, delivered::hugeint as delivered,
    read::hugeint as read, failed::hugeint as failed, replied::bigint as replied, opted_out::bigint as opted_out,
    converted::bigint as converted,
    delivered / sent as delivery_rate,
    failed / sent as failure_rate,
    read / delivered as read_rate,
    replied / delivered as reply_rate,
    opted_out / delivered as opt_out_rate,
    converted / sent as conversion_rate,
    converted / read as conversion_given_read_rate,
    is_complete
from messages;
