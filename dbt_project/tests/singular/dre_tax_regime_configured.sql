-- `var('tax_regime')` names a regime of the `tax_regimes` seed: a typo would otherwise silently
-- zero every tax. Fails with one row when the configured regime has no taxes in the seed.
select '{{ var("tax_regime") }}' as tax_regime
where not exists (
    select 1 from {{ ref('tax_regimes') }} where tax_regime = '{{ var("tax_regime") }}'
)
