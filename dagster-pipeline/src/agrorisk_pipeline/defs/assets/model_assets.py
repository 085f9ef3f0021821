"""Model assets: train or fine-tune (W&B) → tune (Optuna) → register a candidate → evaluate against
production on the frozen test set (and Gemini) → promote only when the quality gate passes."""

import json

import dagster as dg

from agrorisk_common.aio import run_sync
from agrorisk_pipeline.defs.assets.data_assets import dataset_version
from agrorisk_pipeline.defs.assets.starter_assets import starter_model
from agrorisk_pipeline.defs.resources import FlowResource, GeminiResource, RegistryResource, WandbResource
from agrorisk_pipeline.defs.upstream import latest_metadata, link, pulled_dataset
from agrorisk_pipeline.gate import quality_gate
from agrorisk_pipeline.progress import epoch_callbacks

GROUP = "model"


def start_plan(models, datasets, class_names: list[str], dataset: str) -> dict:
    """Where the candidate starts: fine-tuned from production when it has exactly these classes (with
    replay of production's own data set when that is another version), else from the start weights."""
    production = models.aliases().get("production")
    if production is None:
        return {"parent_version": None, "replay_from": None, "reason": "no production model yet"}
    meta = models.show(production).metadata
    if meta.get("class_names") != class_names:
        return {
            "parent_version": None,
            "replay_from": None,
            "reason": f"classes changed (production {production}: {', '.join(meta.get('class_names') or [])})",
        }
    old = meta.get("dataset_version")
    replay = old if old and old != dataset and old in {v.version for v in datasets.list()} else None
    reason = f"fine-tuned from production {production}" + (
        f" with replay of dataset {replay}" if replay else ""
    )
    return {"parent_version": production, "replay_from": replay, "reason": reason}


@dg.asset(group_name=GROUP, deps=[dataset_version, starter_model], kinds={"pytorch", "wandb"})
def trained_model(
    context: dg.AssetExecutionContext, flow: FlowResource, registry: RegistryResource, wandb: WandbResource
) -> dg.MaterializeResult:
    """YOLO11 on the latest dataset version, tracked in W&B. Retraining is fine-tuning: with a production
    model of the same classes, `agrorisk_train.finetune` starts from it (replay of its data set, its
    `freeze`/`replay_fraction` settings, old vs new on the frozen test split); otherwise training starts
    from `start_model` (COCO weights, else the starter model). The lineage says which and why."""
    from agrorisk_train.datasets import risk_ids
    from agrorisk_train.finetune import finetune
    from agrorisk_train.training import train

    version, data_yaml = pulled_dataset(context, registry, flow)
    models, datasets = registry.models(), registry.datasets()
    plan = start_plan(models, datasets, risk_ids(data_yaml), version)
    settings = flow.train_settings(wandb)
    run_config = {"dagster_run_id": context.run.run_id, "dataset_version": version}
    comparison = None
    if plan["parent_version"]:
        frozen = latest_metadata(context, "dataset_version")["frozen_test_alias"]
        old_yaml = (
            pulled_dataset(context, registry, flow, ref=plan["replay_from"])[1]
            if plan["replay_from"]
            else None
        )
        tuned = finetune(
            settings, data_yaml, models, base_ref=plan["parent_version"], old_data_yaml=old_yaml,
            test_data_yaml=pulled_dataset(context, registry, flow, ref=frozen)[1], register=False,
            callbacks=epoch_callbacks(context), wandb_config=run_config,
        )  # fmt: skip
        result, comparison = tuned.train, tuned.comparison
    else:
        result = train(
            settings, data_yaml, run_name=f"dagster-{context.run.run_id[:8]}-train", wandb_config=run_config,
            registry=models, callbacks=epoch_callbacks(context),
        )  # fmt: skip
    start = result.start.get("note", "")
    if plan["parent_version"]:
        parent = models.show(plan["parent_version"]).metadata
        start = f"production {plan['parent_version']} ({(parent.get('lineage') or {}).get('start') or 'fine-tuned'})"
    lineage = {**plan, "start": start, "dagster_run_id": context.run.run_id}
    context.log.info("trained on dataset %s (%s, start %s): %s; W&B run %s", version, plan["reason"],
                     lineage["start"], result.metrics, result.wandb_run)  # fmt: skip
    return dg.MaterializeResult(
        metadata={
            "run_dir": dg.MetadataValue.path(str(result.run_dir)),
            "dataset_version": version,
            "wandb_run": link(result.wandb_run),
            "metrics": dg.MetadataValue.json(result.metrics),
            "map50": result.metrics.get("map50", 0.0),
            "start_weights": lineage["start"],
            "parent_version": plan["parent_version"] or "",
            "lineage": dg.MetadataValue.json(lineage),
            "comparison": dg.MetadataValue.json(comparison or {}),
        }
    )


@dg.asset(group_name=GROUP, deps=[trained_model], kinds={"optuna"})
def tuned_params(
    context: dg.AssetExecutionContext, flow: FlowResource, registry: RegistryResource, wandb: WandbResource
) -> dg.MaterializeResult:
    """Hyper-parameters searched with Optuna (`tune_trials` trials; 0 skips the search)."""
    trials = flow.settings().tune_trials
    if trials == 0:
        context.log.info(
            "tuning is off (AGRORISK_PIPELINE_TUNE_TRIALS=0): the trained model is the candidate"
        )
        return dg.MaterializeResult(metadata={"params": dg.MetadataValue.json({}), "note": "tuning off"})
    from agrorisk_train.tuning import tune

    version, data_yaml = pulled_dataset(context, registry, flow)
    result = tune(flow.train_settings(wandb), data_yaml, n_trials=trials, study_name=f"agrorisk-{version}")
    context.log.info("study %s: best trial %d (fitness %.4f) %s", result.study_name, result.best_trial,
                     result.best_value, result.best_params)  # fmt: skip
    return dg.MaterializeResult(
        metadata={
            "params": dg.MetadataValue.json(result.best_params),
            "optuna_study": result.study_name,
            "optuna_trial": result.best_trial,
            "best_fitness": result.best_value,
            "n_trials": result.n_trials,
            "storage": result.storage,
            "best_params_json": dg.MetadataValue.path(str(result.best_params_json)),
        }
    )


@dg.asset(group_name=GROUP, deps=[tuned_params], kinds={"s3"})
def candidate_model(
    context: dg.AssetExecutionContext, flow: FlowResource, registry: RegistryResource, wandb: WandbResource
) -> dg.MaterializeResult:
    """The model to judge: trained with the tuned parameters (or the plain trained run), registered with
    its lineage: parent version, start weights, dataset version and hash, W&B run, Optuna trial, git
    commit, Dagster run id."""
    from agrorisk_train.registering import register_model
    from agrorisk_train.training import TrainResult, train

    version, data_yaml = pulled_dataset(context, registry, flow)
    tuned = latest_metadata(context, "tuned_params")
    trained = latest_metadata(context, "trained_model")
    settings = flow.train_settings(wandb)
    result = TrainResult.load(trained["run_dir"])
    if tuned["params"]:  # the same start weights as the trained run, with the tuned hyper-parameters
        result = train(
            settings, data_yaml, model=result.start.get("requested"), run_name=f"dagster-{context.run.run_id[:8]}-tuned",
            overrides=tuned["params"], registry=registry.models(), callbacks=epoch_callbacks(context),
            wandb_config={"dagster_run_id": context.run.run_id, "optuna_study": tuned["optuna_study"],
                          "optuna_trial": tuned["optuna_trial"]},
        )  # fmt: skip
    # Lineage carries the dataset registry's content hash (the labelling hash), not a hash of local files.
    content_hash = registry.datasets().show(version).metadata.get("dataset_hash")
    info = register_model(
        registry.models(), result, settings, data_yaml=data_yaml, dataset_version=version,
        dataset_hash=content_hash, optuna_study=tuned.get("optuna_study"),
        optuna_trial=tuned.get("optuna_trial"), dagster_run_id=context.run.run_id,
        lineage=trained["lineage"], comparison=trained.get("comparison") or None,
    )  # fmt: skip
    context.log.info("registered candidate %s (mAP50 %.3f)", info.version, result.metrics.get("map50", 0.0))
    return dg.MaterializeResult(
        metadata={
            "version": info.version,
            "dataset_version": version,
            "parent_version": trained["lineage"]["parent_version"] or "",
            "start_weights": trained["lineage"]["start"],
            "dataset_hash": info.metadata.get("dataset_hash") or "",
            "wandb_run": link(result.wandb_run),
            "git_commit": info.metadata.get("git_commit") or "",
            "optuna_trial": str(tuned.get("optuna_trial", "")),
            "metrics": dg.MetadataValue.json(result.metrics),
        }
    )


@dg.asset(group_name=GROUP, deps=[candidate_model], kinds={"python"})
def evaluation(
    context: dg.AssetExecutionContext, flow: FlowResource, registry: RegistryResource, gemini: GeminiResource
) -> dg.MaterializeResult:
    """Candidate vs production (and Gemini, when it has a key) on the frozen test split of the candidate's
    class set, each at its own image size, with the standard evaluator; the gate's decision is recorded
    here. A production model of other classes is not comparable: the candidate then passes."""
    from agrorisk_common.comparison import compare_reports
    from agrorisk_common.yolo_data import split_images
    from agrorisk_train.evaluation import evaluate_model

    models = registry.models()
    candidate = latest_metadata(context, "candidate_model")["version"]
    alias = latest_metadata(context, "dataset_version")["frozen_test_alias"]
    frozen, data_yaml = pulled_dataset(context, registry, flow, ref=alias)
    split = "test" if split_images(data_yaml, "test") else "val"
    pipeline = flow.settings()
    out = pipeline.work_dir / "evaluations" / context.run.run_id
    settings = flow.train_settings()

    def score(ref: str, stem: str):
        return evaluate_model(
            models.pull(ref) / "best.pt", data_yaml, settings, split=split, imgsz=models.show(ref).metadata.get("imgsz"),
            operating_conf=pipeline.operating_conf, model_version=ref, out_dir=out / stem,
        )  # fmt: skip

    candidate_report = score(candidate, "candidate")
    production = models.aliases().get("production")
    classes = models.show(candidate).metadata.get("class_names")
    comparable = (
        production
        and production != candidate
        and models.show(production).metadata.get("class_names") == classes
    )
    production_report = score(production, "production") if production and comparable else None
    why = f"production {production} has other classes" if production and not comparable else ""
    # No ground truth in the test split gives no mAP: no evidence either model is better.
    decision = quality_gate(
        candidate_report.map50 or 0.0, (production_report.map50 or 0.0) if production_report else None,
        pipeline.gate_margin,
        no_production=why,
    )  # fmt: skip
    metadata = {
        "candidate": candidate,
        "production": production or "",
        "test_set": f"dataset {frozen} split {split} ({candidate_report.n_images} images, {alias})",
        "candidate_map50": candidate_report.map50,
        "production_map50": production_report.map50 if production_report else -1.0,
        "gate_passed": decision.passed,
        "gate_reason": decision.reason,
        "candidate_report": dg.MetadataValue.md(candidate_report.to_markdown()),
    }
    if production_report is not None:
        comparison = compare_reports(candidate_report, production_report)
        metadata["comparison"] = dg.MetadataValue.md(comparison.to_markdown())
    gemini_settings = gemini.settings()
    if gemini.evaluate and gemini_settings.configured:
        from agrorisk_common.catalog import load_catalog
        from agrorisk_gemini.dataset_eval import detector_for_dataset, evaluate_dataset

        detector = detector_for_dataset(gemini_settings, load_catalog(), data_yaml, split)
        run = run_sync(evaluate_dataset(detector, data_yaml, split, out / "gemini"))
        metadata |= {"gemini_map50": run.report.map50, "gemini_cost_usd": run.report.cost_total_usd}
    else:
        metadata["gemini"] = "off" if not gemini.evaluate else "not configured (AGRORISK_GEMINI_API_KEY)"
    (out / "gate.json").write_text(json.dumps(decision.model_dump(), indent=2))
    context.log.info("gate %s: %s", "passed" if decision.passed else "REFUSED", decision.reason)
    return dg.MaterializeResult(metadata=metadata | {"reports": dg.MetadataValue.path(str(out.resolve()))})


@dg.asset(group_name=GROUP, deps=[evaluation], kinds={"s3"})
def production_model(context: dg.AssetExecutionContext, registry: RegistryResource) -> dg.MaterializeResult:
    """The `production` alias: moved to the candidate only when the quality gate passed."""
    result = latest_metadata(context, "evaluation")
    models = registry.models()
    if result["gate_passed"]:
        models.promote(result["candidate"], "production")
        context.log.info("promoted %s to production", result["candidate"])
    else:
        context.log.warning("kept production %s: %s", result["production"], result["gate_reason"])
    current = models.aliases().get("production", "")
    return dg.MaterializeResult(
        metadata={
            "version": current,
            "promoted": bool(result["gate_passed"]),
            "reason": result["gate_reason"],
        }
    )
