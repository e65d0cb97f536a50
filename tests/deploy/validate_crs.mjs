// Validates the custom resources of the given manifests (Strimzi KafkaTopic, KEDA
// ScaledObject) against their CRDs' schemas, as compiled into the kubernetes-models
// packages (types, enums, bounds, required fields). Core kinds are checked by
// kubernetes-validate; a custom resource of a kind not listed here fails.
// usage: node validate_crs.mjs FILE.yaml...
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { KafkaTopic } from "@kubernetes-models/strimzi-kafka-operator/kafka.strimzi.io/v1beta2/KafkaTopic";
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";

const kinds = {
  "kafka.strimzi.io/v1beta2/KafkaTopic": KafkaTopic,
  "keda.sh/v1alpha1/ScaledObject": ScaledObject,
};
const core = /^(v1|apps\/v1|policy\/v1|kustomize\.config\.k8s\.io\/v1beta1)$/;
let bad = 0, checked = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    const o = doc.toJS();
    if (!o || core.test(o.apiVersion)) continue;
    const Model = kinds[`${o.apiVersion}/${o.kind}`];
    const name = `${file}: ${o.kind}/${o.metadata?.name}`;
    if (!Model) {
      bad++;
      console.log(`FAIL ${name}: no schema for ${o.apiVersion} ${o.kind}`);
      continue;
    }
    try {
      new Model(o).validate();
      checked++;
    } catch (e) {
      bad++;
      console.log(`FAIL ${name}: ${e.message}`);
    }
  }
}
console.log(`custom resources: ${checked} valid, ${bad} invalid`);
process.exit(bad ? 1 : 0);
