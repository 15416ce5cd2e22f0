export { canonicalJson, canonicalJsonBytes, type CanonicalValue } from './lib/canonical-json';
