import { PolicyPack } from "@pulumi/policy";
import { policies } from "./rules";

new PolicyPack("workbench-entra-guardrails", { policies });
