"""From crawled photos to a versioned YOLO dataset: auto-labels, Label Studio review, Stable Diffusion
top-up, imports. Entry points: `autolabel.autolabel`, `build.build_dataset`, `importer.import_dataset`,
`studio.push/pull`, `synth.generate`, `registry.push_dataset/pull_dataset`; CLI `agrorisk-label`."""
