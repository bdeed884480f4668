import { TableWrap } from '../TableWrap';
import type { ModelMetadata, TensorMeta } from '../../lib/types';

function Tensors({ caption, items }: { caption: string; items: TensorMeta[] }) {
  return (
    <TableWrap label={caption}>
    <table>
      <caption>{caption}</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">Datatype</th><th scope="col">Shape</th></tr></thead>
      <tbody>
        {items.map((t) => (
          <tr key={t.name}><th scope="row"><code>{t.name}</code></th><td>{t.datatype}</td><td><code>[{t.shape.join(', ')}]</code></td></tr>
        ))}
      </tbody>
    </table>
    </TableWrap>
  );
}

/** The model's V2 signature (GET /v2/models/{name}); -1 is a dynamic dimension. */
export function Signature({ meta }: { meta: ModelMetadata }) {
  return (
    <div class="signature" data-testid="signature">
      {meta.platform ? <p>Platform: <code>{meta.platform}</code></p> : null}
      <Tensors caption="Inputs" items={meta.inputs ?? []} />
      <Tensors caption="Outputs" items={meta.outputs ?? []} />
    </div>
  );
}
