"""Data assets: risk catalog → photos → labels → human review → synthetic top-up → dataset version."""

from collections import Counter

import dagster as dg

from agrorisk_pipeline.defs.resources import FlowResource, LabelStudioResource, RegistryResource
from agrorisk_pipeline.defs.upstream import latest_metadata
from agrorisk_pipeline.progress import report

GROUP = "data"


def _catalog():
    from agrorisk_common.catalog import load_catalog

    return load_catalog()


def _pool_counts(flow: FlowResource) -> dict[str, int]:
    from agrorisk_labeling.manifest import read_manifest

    manifest = flow.settings().manifest
    return dict(Counter(read_manifest(manifest)["risk_id"])) if manifest.exists() else {}


@dg.asset(group_name=GROUP, kinds={"csv"})
def risk_catalog(context: dg.AssetExecutionContext, flow: FlowResource) -> dg.MaterializeResult:
    """The risks this flow learns, checked against the catalog (crawler/risks/*.csv)."""
    risks = _catalog().select(ids=flow.settings().risk_ids)
    context.log.info("%d risks selected: %s", len(risks), ", ".join(r.id for r in risks))
    return dg.MaterializeResult(
        metadata={
            "n_risks": len(risks),
            "risk_ids": dg.MetadataValue.json([r.id for r in risks]),
            "crops": dg.MetadataValue.json(sorted({r.crop for r in risks})),
        }
    )


@dg.asset(group_name=GROUP, deps=[risk_catalog], kinds={"python"})
def crawled_images(context: dg.AssetExecutionContext, flow: FlowResource) -> dg.MaterializeResult:
    """Photos per risk in the labelling pool: real labelled photos of a registered data set (public;
    auto = public when one can be had, else drawn leaves, said loudly), crawled (agrorisk-crawler) or
    drawn (procedural, offline). Records the risks the photos cover: the dataset's classes."""
    settings = flow.settings()
    catalog = _catalog()
    source, risk_ids, extra = settings.data_source, list(settings.risk_ids), {}
    if source in ("public", "auto"):
        from agrorisk_pipeline.public_data import import_real_photos

        real = import_real_photos(
            settings.manifest, risk_ids, catalog, name=settings.public_dataset,
            registry_file=settings.public_datasets_file, on_progress=lambda d, t: report(context, d, t),
        )  # fmt: skip
        if real is None and source == "public":
            raise dg.Failure("no registered data set with real photos of these risks can be had here "
                             "(agrorisk-label datasets)")  # fmt: skip
        if real is None:
            context.log.warning("NO REAL PHOTOS of %s can be had here: training on procedurally drawn "
                                "leaves instead, not on real photos", ", ".join(risk_ids))  # fmt: skip
            source = "procedural"
        else:
            source, risk_ids, added = "public", real.risk_ids, real.new_images
            extra = {"datasets": f"{real.dataset} ({real.license})", "note": real.note}
    if source == "crawler":
        from agrorisk_crawler.collection import ImageCollection
        from agrorisk_crawler.crawl import crawl_risks
        from agrorisk_crawler.settings import Settings as CrawlerSettings

        # The crawler's Settings give defaults as Field's first positional argument, which type
        # checkers do not read as a default (they need `default=`).
        crawler = CrawlerSettings(download_dir=settings.manifest.parent, max_per_risk=settings.max_per_risk)  # pyright: ignore[reportCallIssue]
        collection = ImageCollection(crawler.images_dir, crawler.manifest_path, crawler.phash_threshold)
        added = crawl_risks(catalog.select(ids=risk_ids), crawler, collection).kept()
    elif source == "procedural":
        from agrorisk_common.procedural import generate_leaf_dataset
        from agrorisk_labeling.importer import import_dataset

        drawn = generate_leaf_dataset(
            settings.work_dir / "procedural", risk_ids, images_per_class=settings.images_per_class,
            imgsz=settings.procedural_imgsz, seed=0,
        )  # fmt: skip
        added = import_dataset("yolo", drawn.parent, settings.manifest, catalog).new_manifest_rows
        extra = {"note": "procedurally drawn leaves (a lesion pattern per risk), not real photos"}
    counts = _pool_counts(flow)
    context.log.info("%s: %d new photos; pool %s", source, added, counts)
    return dg.MaterializeResult(
        metadata={
            "source": source,
            "risk_ids": dg.MetadataValue.json(risk_ids),
            "new_images": added,
            "pool_images": sum(counts.values()),
            "images_per_risk": dg.MetadataValue.json(counts),
            "manifest": dg.MetadataValue.path(str(settings.manifest.resolve())),
            **extra,
        }
    )


@dg.asset(group_name=GROUP, deps=[crawled_images], kinds={"python"})
def auto_labels(
    context: dg.AssetExecutionContext, flow: FlowResource, label_studio: LabelStudioResource
) -> dg.MaterializeResult:
    """Boxes for every unlabelled pool photo from the labeller chain (YOLO, Gemini, whole image)."""
    from agrorisk_labeling.autolabel import autolabel
    from agrorisk_labeling.labellers import build_labellers

    manifest = flow.settings().manifest
    labeling = label_studio.labeling_settings(manifest)
    summary = autolabel(manifest, build_labellers(labeling, _catalog()))
    context.log.info(
        "auto-labelled %d, kept %d existing, by source %s",
        summary.labelled,
        summary.kept_existing,
        summary.by_source,
    )
    return dg.MaterializeResult(
        metadata={
            "labelled": summary.labelled,
            "kept_existing": summary.kept_existing,
            "missing_files": len(summary.missing_files),
            "by_source": dg.MetadataValue.json(summary.by_source),
            "labels": dg.MetadataValue.path(summary.labels_path),
        }
    )


@dg.asset(group_name=GROUP, deps=[auto_labels], kinds={"labelstudio"})
def labeled_dataset(
    context: dg.AssetExecutionContext, flow: FlowResource, label_studio: LabelStudioResource
) -> dg.MaterializeResult:
    """Human review merged in: Label Studio's export replaces auto labels of the reviewed photos."""
    from agrorisk_labeling import studio
    from agrorisk_labeling.labels import LabelStore
    from agrorisk_labeling.manifest import labels_path_of

    manifest = flow.settings().manifest
    metadata: dict = {}
    if label_studio.configured(manifest):
        labeling = label_studio.labeling_settings(manifest)
        summary = studio.pull(labeling, manifest)
        metadata |= {
            "human_labelled": summary.human_labelled,
            "without_annotation": summary.without_annotation,
            "label_studio": dg.MetadataValue.url(
                f"{labeling.label_studio_url}/projects/{summary.project_id}"
            ),
        }
        context.log.info("Label Studio export merged: %d human-labelled photos", summary.human_labelled)
    else:
        context.log.warning(
            "Label Studio is not configured (AGRORISK_LABELING_LABEL_STUDIO_API_KEY): using auto/imported labels"
        )
        metadata["label_studio"] = "not configured"
    store = LabelStore.load(labels_path_of(manifest))
    by_source = dict(Counter(labels.source.value for labels in store))
    return dg.MaterializeResult(metadata=metadata | {"labels_by_source": dg.MetadataValue.json(by_source)})


@dg.asset(group_name=GROUP, deps=[labeled_dataset], kinds={"diffusers"})
def synthetic_topup(
    context: dg.AssetExecutionContext, flow: FlowResource, label_studio: LabelStudioResource
) -> dg.MaterializeResult:
    """Stable Diffusion images for risks below `synthetic_target` photos (off when the target is 0)."""
    settings = flow.settings()
    if settings.synthetic_target == 0:
        context.log.info("synthetic top-up is off (AGRORISK_PIPELINE_SYNTHETIC_TARGET=0)")
        return dg.MaterializeResult(metadata={"generated": 0, "note": "off"})
    from agrorisk_labeling.labellers import build_labellers
    from agrorisk_labeling.synth import generate, topup_plan

    manifest = settings.manifest
    labeling = label_studio.labeling_settings(manifest)
    catalog = _catalog()
    plan = topup_plan(manifest, settings.risk_ids, settings.synthetic_target, labeling.synthetic_max_share)
    summary = generate(plan, manifest, catalog, labeling, build_labellers(labeling, catalog))
    context.log.info("generated %s with %s on %s", summary.generated, summary.model, summary.device)
    return dg.MaterializeResult(
        metadata={
            "generated": sum(summary.generated.values()),
            "per_risk": dg.MetadataValue.json(summary.generated),
        }
    )


@dg.asset(group_name=GROUP, deps=[synthetic_topup], kinds={"s3"})
def dataset_version(
    context: dg.AssetExecutionContext,
    flow: FlowResource,
    label_studio: LabelStudioResource,
    registry: RegistryResource,
) -> dg.MaterializeResult:
    """The YOLO dataset of the risks the photos cover, built from the pool and kept as a version in the
    dataset registry (same content, same version). Frozen test set: one per class set (`frozen_split`)."""
    from agrorisk_labeling.build import build_with_settings
    from agrorisk_labeling.registry import push_dataset
    from agrorisk_pipeline.frozen_split import freeze

    settings = flow.settings()
    photos = latest_metadata(context, "crawled_images")
    source = photos.get("source", settings.data_source)
    manifest = settings.manifest
    fractions = {"val_fraction": settings.val_fraction, "test_fraction": settings.test_fraction}
    labeling = label_studio.labeling_settings(manifest).model_copy(
        update={k: v for k, v in fractions.items() if v is not None}
    )
    out = settings.work_dir / "dataset"
    risk_ids = photos.get("risk_ids") or settings.risk_ids
    built = build_with_settings(
        labeling, out, _catalog(), risk_ids=risk_ids, on_progress=lambda d, t: report(context, d, t)
    )
    datasets = registry.datasets()
    lineage = {"dagster_run_id": context.run.run_id, "source": source, "datasets": photos.get("datasets", "")}
    info = push_dataset(out, lineage, registry=datasets)
    alias, frozen = freeze(datasets, info.version, built.class_names, source)
    context.log.info("dataset %s (%s): splits %s, %d rejected; frozen test set %s = %s", info.version,
                     built.dataset_hash[:12], built.split_counts, len(built.rejected), alias, frozen)  # fmt: skip
    return dg.MaterializeResult(
        metadata={
            "version": info.version,
            "dataset_hash": built.dataset_hash,
            "source": source,
            "class_names": dg.MetadataValue.json(built.class_names),
            "splits": dg.MetadataValue.json(built.split_counts),
            "rejected": len(built.rejected),
            "imbalance_ratio": built.imbalance_ratio,
            "balance": dg.MetadataValue.md(built.to_markdown()),
            "frozen_test_alias": alias,
            "frozen_test_version": frozen,
            "data_yaml": dg.MetadataValue.path(str((out / "data.yaml").resolve())),
            "registry": datasets.location,
        }
    )
