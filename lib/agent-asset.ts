// The cell agent as one S3 object: bin/agent.ts bundled by the local esbuild with the options local
// mode uses (bundling/agent-bundle.ts), so local cells and AWS cells run the same build. The
// object is the single file `agent.mjs` (not a zip), so a cell needs neither unzip nor the AWS CLI.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AssetHashType, BundlingOutput, DockerImage } from 'aws-cdk-lib';
import { Asset, type AssetProps } from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { buildSync } from 'esbuild';
import { AGENT_BUNDLE_OPTIONS, AGENT_ENTRY } from '../bundling/agent-bundle.js';
import { bundlingLogLevel, withQuietBundling } from '../bundling/quiet-bundling.js';

export const AGENT_FILE_NAME = 'agent.mjs';

export interface AgentAssetProps {
  /**
   * The agent's entry module.
   * @default AGENT_ENTRY (bin/agent.ts)
   */
  readonly entry?: string;
}

export class AgentAsset extends Construct {
  readonly asset: Asset;
  /** ARN of exactly the agent's object in the assets bucket (for `s3:GetObject`). */
  readonly objectArn: string;

  constructor(scope: Construct, id: string, props: AgentAssetProps = {}) {
    super(scope, id);
    const entry = props.entry ?? AGENT_ENTRY;
    // Bundling runs in Asset's constructor: quiet unless DYNEG_BUNDLING_VERBOSE=1 (bundling/quiet-bundling.ts).
    const assetProps: AssetProps = {
      // The source folder is only fingerprinted when bundling is skipped (tests); esbuild reads the entry.
      path: dirname(entry),
      // Hash the built file, not the repository: an unrelated edit must not produce a new object.
      assetHashType: AssetHashType.OUTPUT,
      bundling: {
        // Never used: local bundling below always succeeds or throws.
        image: DockerImage.fromRegistry('none'),
        outputType: BundlingOutput.SINGLE_FILE,
        local: {
          tryBundle(outputDir: string): boolean {
            mkdirSync(outputDir, { recursive: true });
            buildSync({
              ...AGENT_BUNDLE_OPTIONS,
              entryPoints: [entry],
              outfile: join(outputDir, AGENT_FILE_NAME),
              logLevel: bundlingLogLevel(),
            });
            return true;
          },
        },
      },
    };
    this.asset = withQuietBundling(() => new Asset(this, 'Bundle', assetProps));
    this.objectArn = this.asset.bucket.arnForObjects(this.asset.s3ObjectKey);
  }
}
